"""A minimal HTTP server using FastAPI, started by the uvicorn ASGI server.
Lesson 003's endpoints live in bottleneck.py and are added with one call."""

import os

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import bottleneck

# Configuration: read from the environment so the same code runs
# unchanged in a container and on a laptop.
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8080"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1"))

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

if __name__ == "__main__":
    # Start: uvicorn is given the app as "main:app" and imports this file
    # again itself, as the module main; that is what lets it start more
    # than one worker process.
    #
    # Graceful stop: uvicorn installs its own SIGINT/SIGTERM handlers (so it
    # stops even as PID 1), closes idle keep-alive connections and waits up
    # to the timeout for requests still running.
    # Access logs are off: a log line per request would dominate a load test.
    uvicorn.run(
        "main:app",
        host=HOST,
        port=PORT,
        workers=WORKERS,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
