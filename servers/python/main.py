"""Start the FastAPI app in app.py with the uvicorn ASGI server."""

import os

import uvicorn

# Configuration: read from the environment so the same code runs
# unchanged in a container and on a laptop.
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8080"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1"))

if __name__ == "__main__":
    # Routes live in app.py; uvicorn imports "app:app" itself, which is
    # what lets it start more than one worker process.
    #
    # Start, and graceful stop: uvicorn installs its own SIGINT/SIGTERM
    # handlers (so it stops even as PID 1), closes idle keep-alive
    # connections and waits up to the timeout for requests still running.
    # Access logs are off: a log line per request would dominate a load test.
    uvicorn.run(
        "app:app",
        host=HOST,
        port=PORT,
        workers=WORKERS,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
