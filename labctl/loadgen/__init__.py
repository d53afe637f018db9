"""Load generators for `labctl load` and `labctl compare --load`, and parsers of their output.

No printing here: every function returns data; the commands render it.

Three generators, chosen by ``LoadOptions.generator``:

- ``container``: Debian's wrk package in its own container (labctl/docker/wrk/Dockerfile, built
  from the same base-image mechanism as the servers), pinned to the client CPUs with a cpuset,
  reaching the server container over the Docker bridge (never through docker-proxy). It is
  labelled like the servers, so ``labctl down`` and the orphan reaper remove it too.
- ``host``: a wrk found on PATH, pinned to the client CPUs with ``sched_setaffinity``.
- ``builtin``: an asyncio client with a minimal hand-written HTTP/1.1 implementation. It is the
  bottleneck above a few thousand requests per second (see the project's measurement notes),
  so a closed-loop run with it is flagged: it measures labctl, not the server.
- ``auto``: Docker runtime → container wrk (host wrk, then builtin if the image cannot be
  built); local runtime → host wrk, else builtin with the loud note.

wrk (4.1, as Debian ships it) is closed loop only: each connection sends its next request as
soon as the previous answer arrives, so it measures maximum throughput, and its latency is
counted from when a request was really sent. It cannot pace requests at a fixed rate. A fixed
rate (``--rate``, open loop, as wrk2 and oha do) therefore runs on the built-in client, which is
honest for rates well below its ceiling: latency is counted from each request's *intended* send
time whenever the connection was still busy (coordinated omission corrected, as wrk2 does), and
a run whose achieved rate falls short of the target by more than 5 % is flagged.

The package, one job per module: ``options`` (what to send, what came back, when to flag it),
``wrk`` (wrk's arguments and the parsers of its output), ``builtin`` (the asyncio client),
``generators`` (the three generators) and ``choice`` (which one, with ``auto``'s fallbacks, and
the entry points ``prepare_generator``, ``run_load`` and ``load_for_compare``). The names below
are the package's interface; import them from ``labctl.loadgen``.
"""

from __future__ import annotations

from labctl.durations import format_duration, parse_duration
from labctl.loadgen.builtin import BUILTIN_COMFORT_RPS, BuiltinOutcome, run_builtin
from labctl.loadgen.choice import (
    COMPARE_WARMUP_S,
    choose_generator,
    load_for_compare,
    prepare_generator,
    run_load,
)
from labctl.loadgen.generators import (
    BuiltinClient,
    ContainerWrk,
    Generator,
    HostWrk,
    default_threads,
)
from labctl.loadgen.options import (
    BUILTIN_WARNING,
    DEFAULT_TIMEOUT_S,
    GENERATORS,
    LoadOptions,
    LoadResult,
    flag_reasons,
)
from labctl.loadgen.wrk import (
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
