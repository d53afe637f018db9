"""An open-loop step's figures from its settled part only, request by request.

oha opens a connection the first time each of its workers gets a request, so a step past
capacity begins with a burst of new connections: rate × timeout × 1.25 of them in its first
second or so. A server that accepts them slowly makes those first requests wait in the kernel's
accept queue, where nothing inside the server can see them (Node: libuv accepts one connection
per turn of its event loop since libuv 1.45). To judge what the server does with the load once
its connections are open, an exercise can leave that opening out: only the requests due from
``settle_s`` on are counted, and only up to ``timeout_s`` before the end, so that every one of
them was either answered or timed out before oha stopped (none cut off by the deadline).

oha's per-request output lists answered requests only; a request due in the window with no
line was not answered within the timeout (or failed), and is counted as unanswered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labctl.measure import stats
from labctl.measure.loadgen.oha import Answer


def window(duration_s: float, settle_s: float, timeout_s: float) -> tuple[float, float]:
    """The part of a run that counts: from ``settle_s`` to ``timeout_s`` before the end."""
    end = duration_s - timeout_s
    if settle_s < 0 or end <= settle_s:
        raise ValueError(f"nothing left to count: a {duration_s:g} s run settled for "
                         f"{settle_s:g} s, with a {timeout_s:g} s timeout")
    return settle_s, end


def settled_step_figures(answers: Sequence[Answer], *, rate: float, duration_s: float,
                         settle_s: float, timeout_s: float, capacity_rps: float) -> dict[str, Any]:
    """The keys of ``overload.step_figures``, from the requests due inside ``window``."""
    start, end = window(duration_s, settle_s, timeout_s)
    span = end - start
    counted = [answer for answer in answers if start <= answer.due_s < end]
    scheduled = round(rate * span)
    ok = sorted(answer.latency_s * 1000 for answer in counted
                if 200 <= answer.status < 300 and answer.latency_s <= timeout_s)
    shed = sum(answer.status == 503 for answer in counted)
    p50, p99 = (stats.percentile(ok, 50), stats.percentile(ok, 99)) if ok else (None, None)
    return {
        "offered_rps": rate,
        "scheduled": scheduled,
        "sent": None,                      # oha's per-request output lists answers only
        "achieved_rps": round(len(counted) / span, 1),
        "goodput_rps": round(len(ok) / span, 1),
        "goodput_fraction": round(len(ok) / span / capacity_rps, 3) if capacity_rps else None,
        "ok_2xx": len(ok),
        "shed_503": shed,
        "other_status": len(counted) - len(ok) - shed,
        "timeouts": max(0, scheduled - len(counted)),   # unanswered: timed out or failed
        "errors": 0,
        "p50_ms": None if p50 is None else round(p50, 1),
        "p99_ms": None if p99 is None else round(p99, 1),
        "generator_limited": False,        # latency correction: a late send counts as waiting
        "window_s": [round(start, 3), round(end, 3)],
        "new_connections_in_window": sum(answer.new_connection for answer in counted),
        "answered_before_window": sum(answer.due_s < start for answer in answers),
    }
