"""Starting a server, waiting until it is healthy, and stopping it on every way out."""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from labctl.runtime.base import Instance, Limits, Runtime
from labctl.servers import Server

DEFAULT_HEALTH_TIMEOUT_S = 60.0


def install_termination_handler() -> None:
    """Make SIGTERM behave like Ctrl-C, so the same ``finally`` blocks stop what was started."""

    def _interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


def wait_healthy(runtime: Runtime, instance: Instance,
                 timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S) -> float:
    """Wait until ``instance`` answers ``GET /health`` with 200; milliseconds since the start
    request. How is the runtime's: polled from here, or from a container next to a server on an
    engine elsewhere."""
    return runtime.wait_healthy(instance, timeout_s)


@contextmanager
def running(runtime: Runtime, server: Server, limits: Limits, *, keep: bool = False,
            health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S,
            env: dict[str, str] | None = None) -> Iterator[Instance]:
    """Start ``server``, wait until healthy, and always stop it afterwards (unless ``keep``).

    A failure or Ctrl-C stops it even with ``keep``: a server that never became healthy is not
    worth keeping.
    """
    instance = runtime.start(server, limits, keep=keep, env=env)
    try:
        instance.cold_start_ms = wait_healthy(runtime, instance, health_timeout_s)
        yield instance
    except BaseException:
        runtime.stop(instance)
        raise
    if not keep:
        runtime.stop(instance)


# Stops at once: enough to overlap the engine's waiting, few enough not to queue twenty removals
# on it at the same moment.
STOPS_AT_ONCE = 8


def stop_together(runtime: Runtime, instances: Iterable[Instance],
                  grace_s: float | None = None) -> None:
    """Stop several servers at once, for callers that do not measure the stop. Each stop is
    mostly waiting (for the server to handle SIGTERM, for the engine to remove the container),
    so in threads four take little longer than one. Every stop runs even when one fails; the
    first failure is raised after. ``grace_s`` as for ``Runtime.stop`` (0: forced at once)."""
    pending = list(instances)
    if len(pending) < 2:
        for instance in pending:
            runtime.stop(instance, grace_s)
        return
    with ThreadPoolExecutor(max_workers=min(len(pending), STOPS_AT_ONCE)) as pool:
        futures = [pool.submit(runtime.stop, instance, grace_s) for instance in pending]
    for future in futures:
        future.result()
