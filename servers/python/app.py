"""A minimal HTTP server using FastAPI (the app; main.py runs it)."""

import asyncio
import json
import re
import time

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

import users

# Configuration: ?delay_ms is capped, so no request can make the server wait
# for long; CALLS_MS are the three simulated calls behind GET /aggregate.
MAX_DELAY_MS = 2000
CALLS_MS = (10, 20, 50)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Routes: FastAPI also adds /docs, /redoc and /openapi.json unless told not
# to; switch them off so, as in the other servers, every other path is a 404.
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/", response_class=PlainTextResponse)
async def root() -> str:
    # Without response_class the str would be JSON-encoded as "Hello ...".
    return "Hello from Python FastAPI\n"


@app.get("/health")
async def health() -> dict[str, str]:
    # A returned dict is serialised to compact JSON: {"status":"ok"}.
    return {"status": "ok"}


# The parameters are plain str and checked by hand: FastAPI's own validation
# would answer 422 in its own shape, and its time would escape the "parse" step.
@app.get("/users/{user_id}")
async def get_user(user_id: str, delay_ms: str = "0", mode: str = "async") -> Response:
    """One user from the database, with its parse, db and render steps timed."""
    began = time.perf_counter()
    id_ = parse_int(user_id)
    if id_ is None:
        return error(400, "id must be a 64-bit integer")
    delay = parse_int(delay_ms)
    if delay is None or not 0 <= delay <= MAX_DELAY_MS:
        return error(400, f"delay_ms must be an integer from 0 to {MAX_DELAY_MS}")
    if mode not in ("blocking", "async"):
        return error(400, "mode must be blocking or async")
    parse = time.perf_counter() - began

    began = time.perf_counter()
    if mode == "blocking":
        # time.sleep blocks the one thread that runs the event loop: every
        # other request, /health included, waits until it returns.
        time.sleep(delay / 1000)
    else:
        # await hands the loop back: other requests run while this one waits.
        await asyncio.sleep(delay / 1000)
    user = users.find(id_)
    db = time.perf_counter() - began

    began = time.perf_counter()
    if user:
        status, body = 200, to_json(user)
    else:
        status, body = 404, to_json({"error": f"no user with id {id_}"})
    render = time.perf_counter() - began

    steps = {"parse": parse, "db": db, "render": render}
    return Response(body, status_code=status, media_type="application/json",
                    headers=timing_headers(parse + db + render, steps))


@app.get("/aggregate")
async def aggregate(mode: str = "sequential") -> Response:
    """Three independent simulated calls: one after another (the naive
    default), or at the same time, when the slowest alone sets the time."""
    if mode not in ("sequential", "parallel"):
        return error(400, "mode must be sequential or parallel")
    began = time.perf_counter()
    if mode == "sequential":
        took = []
        for ms in CALLS_MS:
            took.append(await simulated_call(ms))
    else:
        # gather runs the three coroutines together on the one event loop.
        took = await asyncio.gather(*(simulated_call(ms) for ms in CALLS_MS))
    total = time.perf_counter() - began
    steps = {f"call{i}": secs for i, secs in enumerate(took, start=1)} | {"total": total}
    body = {"mode": mode, "calls_ms": list(CALLS_MS), "total_ms": round(total * 1000, 3)}
    return JSONResponse(body, headers=timing_headers(total, steps))


async def simulated_call(ms: int) -> float:
    """Stands in for a call to another service; returns the seconds it took."""
    began = time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return time.perf_counter() - began


def parse_int(text: str) -> int | None:
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


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
