"""A first run of `labctl compare` shows each server as soon as it is built.

On a machine with nothing built yet, the builds are most of the wait: from nothing, Node's took
about 1 s here, Python's 5 s, Go's 22 s and Rust's (release profile, fat LTO, SQLite's C source)
about 60 s, on 2 cores. So the servers are built cheapest first, one at a time, in a thread, and
each server the build finishes while another is still building gets a *first look* at once:
started, checked, timed on ``/health`` over a few requests, stopped, and shown as one line.

What a first look is not: part of the comparison. The next build runs on the same machine
while it is taken (a build uses every core it can get, and pinning it to one would make the
slowest build slower still), so its figures are a preview, labelled with what was building.
The comparison itself starts only when every build is done, and measures every server again
under its usual conditions: same limits, interleaved rounds, nothing else running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from labctl.measure import verify
from labctl.measure.clients import MeasuringClient
from labctl.measure.modes import FRESH, KEEPALIVE
from labctl.results.documents import LimitsPart
from labctl.runtime import client_engine
from labctl.runtime.base import Limits, Runtime
from labctl.runtime.lifecycle import wait_healthy
from labctl.servers import Server

# Requests per connection mode in a first look, after a few discarded ones: enough for a median
# worth printing, few enough to take under a second beside a build.
FIRST_LOOK_SAMPLES = 30
FIRST_LOOK_WARMUP = 5
FIRST_LOOK_PATH = "/health"

def cheapest_build_first(chosen: list[Server]) -> list[Server]:
    """``chosen`` in the order their builds from nothing are expected to finish soonest (each
    server.toml says about how long its build takes: ``first_build_seconds``)."""
    return sorted(chosen, key=lambda server: server.first_build_seconds)   # stable among equals


@dataclass
class FirstLook:
    """One server's first look, taken while another server was still building."""

    server: str            # its title, "Go net/http"
    while_building: str    # the title of the server whose build was under way
    status: str            # its checks: verify.PASS, WARN or FAIL
    cold_start_ms: float
    keepalive_p50_us: float | None
    fresh_p50_us: float | None
    samples: int           # timed requests per connection mode
    path: str
    limits: LimitsPart     # what the runtime applied to the server


def take_first_look(runtime: Runtime, client: MeasuringClient, server: Server, limits: Limits,
                    while_building: Server) -> FirstLook:
    """Start ``server``, check it, time a few requests to ``/health`` on each kind of
    connection, and remove it (forced: its stop is not timed)."""
    instance = runtime.start(server, limits, instance="-first-look")
    try:
        cold_start_ms = wait_healthy(runtime, instance)
        verification = client.check(server, instance.url)
        p50: dict[str, float | None] = {KEEPALIVE: None, FRESH: None}
        if verification.status != verify.FAIL:
            results, _cpus = client.measure(
                {server.name: instance.url}, cpuset=client_engine.client_cpus(runtime, limits),
                samples=FIRST_LOOK_SAMPLES, warmup=FIRST_LOOK_WARMUP)
            for mode, series in results[server.name][FIRST_LOOK_PATH].items():
                summary = series.summary()
                p50[mode] = summary.p50 if summary else None
    finally:
        runtime.stop(instance, grace_s=0)
    return FirstLook(server=server.title, while_building=while_building.title,
                     status=verification.status, cold_start_ms=cold_start_ms,
                     keepalive_p50_us=p50[KEEPALIVE], fresh_p50_us=p50[FRESH],
                     samples=FIRST_LOOK_SAMPLES, path=FIRST_LOOK_PATH,
                     limits=instance.limits.as_dict())


def built_in_turn(order: list[Server], build: Callable[[Server], dict[str, Any]],
                  waiting: Callable[[Server], None] = lambda _server: None,
                  ) -> Iterator[tuple[Server, dict[str, Any], Server | None]]:
    """Build the servers one after another in a thread, in ``order``; yield each as its build
    ends, with the build's figures and the server whose build is under way or next by then
    (None when none is left: the last one, or every build was already done). ``waiting`` is told which
    build is waited for next."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labctl-build") as builder:
        futures: list[tuple[Server, Future[dict[str, Any]]]] = [
            (server, builder.submit(build, server)) for server in order]
        try:
            for index, (server, future) in enumerate(futures):
                waiting(server)
                figures = future.result()
                # Not yet done, rather than running: the builder thread takes the next build
                # only a moment after it finished this one.
                next_up = next((later for later, pending in futures[index + 1:]
                                if not pending.done()), None)
                yield server, figures, next_up
        finally:
            # On a failure or Ctrl-C: builds not yet begun are dropped; the one under way ends
            # first (a build cannot be interrupted from another thread).
            for _server, future in futures:
                future.cancel()
