"""Starting a server, waiting until it is healthy, and stopping it on every way out."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import httpx

from labctl.errors import LabctlError
from labctl.runtime.base import Instance, Limits, Runtime
from labctl.servers import Server

DEFAULT_HEALTH_TIMEOUT_S = 60.0
# Between two health attempts. Keeps the cold-start figure's resolution well under 5 ms: one
# attempt against a closed port costs well under a millisecond.
POLL_INTERVAL_S = 0.001


def install_termination_handler() -> None:
    """Make SIGTERM behave like Ctrl-C, so the same ``finally`` blocks stop what was started."""

    def _interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


def wait_healthy(runtime: Runtime, instance: Instance,
                 timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S) -> float:
    """Poll ``GET /health`` until it answers 200; return milliseconds since the start request.

    An HTTP answer is required, not a TCP connect: Docker's published port accepts connections
    before the server inside is listening.

    A server on an engine elsewhere is polled from a container next to it (the runtime's
    ``wait_healthy_on_engine``): its address is not reachable from this machine.
    """
    # With a client on another engine (--client-context), ``url`` is the published port it
    # measures through; the cold start is timed as without it, on the path kept in ``extra``.
    if instance.extra.get("health_path_kind", instance.path_kind) == "engine-bridge":
        # Only the Docker runtime makes such instances (it provides the method).
        from labctl.runtime.docker import DockerRuntime

        return cast(DockerRuntime, runtime).wait_healthy_on_engine(instance, timeout_s)
    url = instance.extra.get("health_url", instance.url) + instance.server.health_path
    deadline = instance.started_at + timeout_s
    next_liveness_check = 0.0
    last_problem = "no answer yet"
    with httpx.Client(timeout=httpx.Timeout(2.0, connect=0.5), trust_env=False) as client:
        while True:
            try:
                response = client.get(url, headers={"Connection": "close"})
                if response.status_code == 200:
                    return (time.monotonic() - instance.started_at) * 1000
                last_problem = f"it answered {response.status_code}"
            except httpx.TransportError as exc:
                last_problem = type(exc).__name__
            now = time.monotonic()
            if now >= next_liveness_check:
                if not runtime.is_running(instance):
                    raise LabctlError(
                        f"the {instance.server.title} server exited during start-up",
                        "Its last log lines are below",
                        details=runtime.logs(instance) or "(it wrote no logs)")
                next_liveness_check = now + 0.1
            if now >= deadline:
                raise LabctlError(
                    f"the {instance.server.title} server did not answer GET {instance.server.health_path} with 200 "
                    f"within {timeout_s:g} s ({last_problem})",
                    "Its last log lines are below",
                    details=runtime.logs(instance) or "(it wrote no logs)")
            time.sleep(POLL_INTERVAL_S)


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
