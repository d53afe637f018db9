"""Lesson 008: LOAD_SHEDDING=on answers a fast 503 while the event loop runs late.

One event loop cannot count the requests waiting for it: they sit unread in the kernel's socket
buffers until the loop gets round to them, and a counter of requests in handlers stays at one.
What it can see is its own lateness: a timer asked to fire every 10 ms fires late by about the
work queued ahead of it. A request that arrives while that timer is over MAX_LAG_S overdue is
refused: the idea of Node's toobusy-js and @fastify/under-pressure, which go by the lateness
their timer measured when it last fired."""

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

TICK_S = 0.01
MAX_LAG_S = 0.05


class ShedWhenLate:
    """A pure ASGI middleware: it runs before FastAPI's routing, so a refusal costs little."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tick_due = 0.0  # when the watcher's timer should fire next (loop time)
        self.watcher: asyncio.Task | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        if self.watcher is None:  # the loop exists only once requests arrive
            self.tick_due = loop.time() + TICK_S
            self.watcher = asyncio.create_task(self.watch())
        # How overdue the timer is now, not at its last firing: the loop reads
        # hundreds of requests in one pass, and a figure kept from the last
        # tick would let the whole batch in.
        if loop.time() - self.tick_due > MAX_LAG_S:
            refusal = JSONResponse({"error": "overloaded, try again later"}, status_code=503,
                                   headers={"Retry-After": "1"})
            return await refusal(scope, receive, send)
        await self.app(scope, receive, send)

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.tick_due = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
