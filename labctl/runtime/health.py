"""Waiting for a server to answer ``GET /health`` with 200: how every cold start is timed here."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from labctl.errors import LabctlError

if TYPE_CHECKING:
    from labctl.runtime.base import Instance, Runtime

# Between two health attempts. Keeps the cold-start figure's resolution well under 5 ms: one
# attempt against a closed port costs well under a millisecond.
POLL_INTERVAL_S = 0.001


def poll_until_healthy(runtime: Runtime, instance: Instance, timeout_s: float) -> float:
    """Poll from this machine until 200; milliseconds since the start request.

    An HTTP answer is required, not a TCP connect: Docker's published port accepts connections
    before the server inside is listening. With a client on another engine (--client-context),
    ``instance.url`` is the published port it measures through; the cold start is timed as
    without it, on the address kept in ``extra``.
    """
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


