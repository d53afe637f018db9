"""The overload lab's endpoint: GET /report?items=N does N steps of pure CPU
work, so its cost per request is set by the client. Each step serialises one
user to JSON and formats a line; the lines are then hashed together."""

import hashlib

from fastapi import APIRouter
from fastapi.responses import Response

import users
from bottleneck import json_error, parse_int64, to_json

# DEFAULT_ITEMS sets the default cost; MAX_ITEMS caps it, so no request can
# hold the event loop for long.
DEFAULT_ITEMS = 250
MAX_ITEMS = 10000


def routes() -> APIRouter:
    """GET /report, for app.include_router."""
    router = APIRouter()
    router.add_api_route("/report", report, methods=["GET"])
    return router


# async def: the work runs on the event loop and holds it for its whole
# duration (about a millisecond), as in Node. A plain def would move it to a
# worker thread, but the GIL lets one thread run Python at a time, so that
# buys no more CPU, only a hand-off per request.
async def report(items: str = str(DEFAULT_ITEMS)) -> Response:
    """{"items":N,"bytes":B,"sha256":"..."}: the same body, byte for byte,
    as the other three servers give for the same N."""
    count = parse_int64(items)
    if count is None or not 1 <= count <= MAX_ITEMS:
        return json_error(400, f"items must be an integer from 1 to {MAX_ITEMS}")
    everyone = users.all_users()
    # Cycle through the users: '0 {"id":1,"name":"Grace"}\n', '1 ...'.
    lines = b""
    for i in range(count):
        lines += f"{i} {to_json(everyone[i % len(everyone)]).decode()}\n".encode()
    body = {"items": count, "bytes": len(lines), "sha256": hashlib.sha256(lines).hexdigest()}
    return Response(to_json(body), media_type="application/json")
