"""A minimal HTTP server using FastAPI, started by the uvicorn ASGI server.
Lesson 003's endpoints live in bottleneck.py and are added with one call."""

import contextlib
import os

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import bottleneck
import edgecases
import report
import shedding

# Configuration: read from the environment so the same code runs
# unchanged in a container and on a laptop.
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8080"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1"))
# Lesson 005: the HTTP/1.1 parser uvicorn runs. h11 (pure Python) as shipped;
# UVICORN_HTTP_PARSER=httptools picks the C one (llhttp, Node's parser). They
# answer malformed requests differently, so the edge-cases lab runs both.
HTTP_PARSER = os.environ.get("UVICORN_HTTP_PARSER", "h11")

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


app.include_router(bottleneck.routes())  # lesson 003: /users/{id} and /aggregate
app.include_router(edgecases.routes())  # lesson 005: POST /echo
app.include_router(report.routes())  # lesson 008: GET /report, CPU-bound
# Refuse work while the event loop runs late, always. (uvicorn's
# --limit-concurrency counts open connections too, so a few hundred
# kept-alive clients would get nothing but 503s.)
app.add_middleware(shedding.ShedWhenLate)

if __name__ == "__main__":
    # Start: uvicorn is given the app as "main:app" and imports this file
    # again itself, as the module main; that is what lets it start more
    # than one worker process.
    #
    # Graceful stop: uvicorn installs its own SIGINT/SIGTERM handlers (so it
    # stops even as PID 1), closes idle keep-alive connections and waits up
    # to the timeout for requests still running.
    # Access logs are off: a log line per request would dominate a load test.
    # Timeouts: uvicorn has no limit on how long a client may take to send
    # its headers; timeout_keep_alive (5 s) only runs between requests. So
    # there is nothing for STACK_DEFAULT_TIMEOUTS (lesson 006) to turn off.
    # Lesson 007: GRACEFUL_SHUTDOWN=off stops uvicorn from installing its
    # handlers, so SIGTERM takes its default action (and as PID 1 in a
    # container, nothing happens).
    if os.environ.get("GRACEFUL_SHUTDOWN") == "off":
        uvicorn.Server.capture_signals = contextlib.nullcontext
    print(f"uvicorn HTTP parser: {HTTP_PARSER}", flush=True)
    uvicorn.run(
        "main:app",
        http=HTTP_PARSER,
        host=HOST,
        port=PORT,
        workers=WORKERS,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
