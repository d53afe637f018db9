"""Lesson 003's endpoints: GET /users/{id}, which times its steps and can be
given a slow dependency, and GET /aggregate, three calls in sequence or in
parallel. Both report their steps in Server-Timing."""

import asyncio
import json
import re
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

import users

# ?delay_ms is capped, so no request can make the server wait for long.
MAX_DELAY_MS = 2000
# The three simulated calls behind GET /aggregate, in milliseconds.
CALLS_MS = (10, 20, 50)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def routes() -> APIRouter:
    """The two routes, for app.include_router. The users database is seeded
    when users.py is imported, at start-up: a broken one stops the server
    then, not on the first request."""
    router = APIRouter()
    router.add_api_route("/users/{user_id}", get_user, methods=["GET"])
    router.add_api_route("/aggregate", aggregate, methods=["GET"])
    return router


# The parameters are plain str and checked by hand: FastAPI's own validation
# would answer 422 in its own shape, and its time would escape the "parse" step.
async def get_user(user_id: str, delay_ms: str = "0", mode: str = "async") -> Response:
    """GET /users/{id}[?delay_ms=N&mode=blocking|async]: one user from the
    database, with its three steps timed: parse the input, ask the database,
    render the JSON."""
    began = time.perf_counter()
    id_ = parse_int64(user_id)
    if id_ is None:
        return json_error(400, "id must be a 64-bit integer")
    try:
        delay, mode = slow_dependency(delay_ms, mode)
    except ValueError as exc:
        return json_error(400, str(exc))
    parse = time.perf_counter() - began

    began = time.perf_counter()
    if mode == "blocking":
        # time.sleep blocks the one thread that runs the event loop: every
        # other request, /health included, waits until it returns.
        time.sleep(delay)
    else:
        # The default: the dependency answers after the delay, then we go on.
        time.sleep(delay)
    user = users.find(id_)
    db = time.perf_counter() - began

    began = time.perf_counter()
    if user:
        status, body = 200, to_json(user)
    else:
        status, body = 404, to_json({"error": f"no user with id {id_}"})
    render = time.perf_counter() - began

    # Headers go out with the status line, so they are all set here at once.
    headers = timing_headers(parse + db + render, {"parse": parse, "db": db, "render": render})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def aggregate(mode: str = "sequential") -> Response:
    """GET /aggregate[?mode=sequential|parallel]: three independent simulated
    calls, one after another (the naive default) or at the same time, when
    the slowest one alone sets the response time."""
    if mode not in ("sequential", "parallel"):
        return json_error(400, "mode must be sequential or parallel")
    began = time.perf_counter()
    if mode == "sequential":
        took = []
        for ms in CALLS_MS:
            took.append(await simulated_call(ms))
    else:
        # gather runs the three coroutines together on the one event loop.
        took = await asyncio.gather(*(simulated_call(ms) for ms in CALLS_MS))
    total = time.perf_counter() - began

    steps = {f"call{i}": secs for i, secs in enumerate(took, start=1)}
    steps["total"] = total
    body = {"mode": mode, "calls_ms": list(CALLS_MS), "total_ms": round(total * 1000, 3)}
    return JSONResponse(body, headers=timing_headers(total, steps))


async def simulated_call(ms: int) -> float:
    """Stands in for a call to another service; returns the seconds it took."""
    began = time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return time.perf_counter() - began


def slow_dependency(delay_ms: str, mode: str) -> tuple[float, str]:
    """Reads ?delay_ms (0 to MAX_DELAY_MS) and ?mode (blocking or async):
    the wait in seconds and the mode, or ValueError with the message to send."""
    delay = parse_int64(delay_ms)
    if delay is None or not 0 <= delay <= MAX_DELAY_MS:
        raise ValueError(f"delay_ms must be an integer from 0 to {MAX_DELAY_MS}")
    if mode not in ("blocking", "async"):
        raise ValueError("mode must be blocking or async")
    return delay / 1000, mode


def parse_int64(text: str) -> int | None:
    """A decimal integer that fits in 64 bits, or None. int() alone is more
    lenient than the other servers: it also takes " 7", "7_0" and "٧"."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    try:
        value = int(text)
    except ValueError:  # more digits than int() converts (4300 by default)
        return None
    return value if INT64_MIN <= value <= INT64_MAX else None


def timing_headers(total: float, steps: dict[str, float]) -> dict[str, str]:
    """Server-Timing, the W3C header that browsers' dev tools draw, and
    X-Timing-MS, the total as one number. Seconds in, milliseconds out."""
    entries = (f"{name};dur={secs * 1000:.3f}" for name, secs in steps.items())
    return {"Server-Timing": ", ".join(entries), "X-Timing-MS": f"{total * 1000:.3f}"}


def to_json(value: dict) -> bytes:
    # Compact, like every other JSON body here: {"id":42,"name":"Ada"}.
    return json.dumps(value, separators=(",", ":")).encode()


def json_error(status: int, message: str) -> JSONResponse:
    """{"error": "..."} with the given status: the body of the errors these
    handlers send. (A path no route matches still gets FastAPI's own 404,
    {"detail":"Not Found"}.)"""
    return JSONResponse({"error": message}, status_code=status)
