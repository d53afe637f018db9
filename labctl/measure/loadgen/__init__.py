"""Load generators for `labctl load` and `labctl compare --load`, and parsers of their output.

No printing here: every function returns data; the commands render it.

Where the load comes from is ``LoadOptions.generator``; the tool follows from the loop:

- closed loop (no ``--rate``): **wrk**, Debian's package. Each connection sends its next request
  as soon as the previous answer arrives, so it measures maximum throughput; its latency counts
  from when a request was really sent. wrk 4.1 cannot pace requests at a fixed rate.
- open loop (``--rate``): **oha** (crates.io, compiled once), which sends at the rate asked
  whatever the server does and, with ``--latency-correction``, times each request from when it
  was due (no coordinated omission). A run whose achieved rate falls short of the target by more
  than 5 % is flagged.

- ``container``: the tool in its own container (labctl/docker/wrk, labctl/docker/oha, built on
  the same base-image mechanism as the servers), pinned to the client CPUs with a cpuset,
  reaching the server container over the Docker bridge (never through docker-proxy). It is
  labelled like the servers, so ``labctl down`` and the orphan reaper remove it too.
- ``host``: the tool on this machine (wrk on PATH; oha on PATH or compiled with cargo into
  labctl's cache), pinned to the client CPUs with ``sched_setaffinity``.
- ``builtin``: an asyncio client with a minimal hand-written HTTP/1.1 implementation, the last
  resort. It is the bottleneck above a few thousand requests per second (see the project's
  measurement notes), so a closed-loop run with it is flagged: it measures labctl, not the
  server.
- ``auto``: Docker runtime → the container (then the host tool, then builtin, each fallback
  announced); local runtime → the host tool (oha is compiled once if missing), else builtin
  with the loud note.

The package, one job per module: ``options`` (what to send, what came back, when to flag it),
``wrk`` (wrk's arguments and the parsers of its output), ``oha`` (oha's arguments, its JSON
report and its two generators), ``builtin`` (the asyncio client),
``generators`` (the three generators) and ``choice`` (which one, with ``auto``'s fallbacks, and
the entry points ``prepare_generator``, ``run_load`` and ``load_for_compare``). The names below
are the package's interface; import them from ``labctl.measure.loadgen``.
"""

from __future__ import annotations

from labctl.durations import format_duration, parse_duration
from labctl.measure.loadgen.builtin import BUILTIN_COMFORT_RPS, BuiltinOutcome, run_builtin
from labctl.measure.loadgen.choice import (
    COMPARE_WARMUP_S,
    choose_generator,
    load_for_compare,
    prepare_generator,
    run_load,
)
from labctl.measure.loadgen.generators import (
    BuiltinClient,
    ContainerWrk,
    Generator,
    HostWrk,
    default_threads,
)
from labctl.measure.loadgen.options import (
    BUILTIN_WARNING,
    DEFAULT_TIMEOUT_S,
    GENERATORS,
    LoadOptions,
    LoadResult,
    flag_reasons,
)
from labctl.measure.loadgen.wrk import (
    WRK_IMAGE_TAG,
    by_hand_command,
    parse_wrk_report,
    parse_wrk_text,
    parse_wrk_version,
    result_from_wrk,
    wrk_args,
    wrk_figures,
)

__all__ = [
    "BUILTIN_COMFORT_RPS", "BUILTIN_WARNING", "COMPARE_WARMUP_S", "DEFAULT_TIMEOUT_S",
    "GENERATORS", "WRK_IMAGE_TAG", "BuiltinClient", "BuiltinOutcome", "ContainerWrk", "Generator",
    "HostWrk", "LoadOptions", "LoadResult", "by_hand_command", "choose_generator",
    "default_threads", "flag_reasons", "format_duration", "load_for_compare", "parse_duration",
    "parse_wrk_report", "parse_wrk_text", "parse_wrk_version", "prepare_generator",
    "result_from_wrk", "run_builtin", "run_load", "wrk_args", "wrk_figures",
]
