"""A minimal HTTP server using FastAPI (the app; main.py runs it)."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

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
