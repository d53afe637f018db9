"""A fifth server for the tests: Python's standard library only (http.server), one thread per
connection. It answers / and /health as the four do, and stops on SIGTERM."""

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, so every answer carries Content-Length
    disable_nagle_algorithm = True  # headers and body are two writes: send both at once

    def do_GET(self):  # noqa: N802 - the name http.server calls
        if self.path == "/":
            self.answer(200, "text/plain; charset=utf-8", b"Hello from Python http.server\n")
        elif self.path == "/health":
            self.answer(200, "application/json", json.dumps({"status": "ok"}).encode())
        else:
            self.answer(404, "application/json", b'{"error":"not found"}')

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass   # no line per request


server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))),
                             Handler)
# shutdown() waits for serve_forever to return, so it must run on another thread.
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print("listening", flush=True)
server.serve_forever()
