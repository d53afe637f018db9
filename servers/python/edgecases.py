"""Lesson 005's endpoint: POST /echo reads the request body and answers with
its length, so the edge-cases lab can see how each server framed a body sent
with Content-Length, chunked, or both."""

from fastapi import APIRouter, Request


def routes() -> APIRouter:
    """POST /echo, for app.include_router."""
    router = APIRouter()
    router.add_api_route("/echo", echo, methods=["POST"])
    return router


async def echo(request: Request) -> dict[str, int]:
    # The first read of the body is what makes uvicorn send "100 Continue"
    # to a client that sent Expect: 100-continue.
    body = await request.body()
    return {"bytes": len(body)}
