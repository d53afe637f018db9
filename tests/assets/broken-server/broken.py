"""Answers quickly and wrongly: a server that must not win a comparison."""

import os
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, HTTPServer

FROZEN_DATE = formatdate(usegmt=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def date_time_string(self, timestamp=None):
        return FROZEN_DATE   # a cached Date: wrong after the first second

    def do_GET(self):  # noqa: N802
        body = b"OK" if self.path == "/health" else b"Hello from Go net/http\n"
        self.send_response(200)   # 200 even for paths that do not exist
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))),
           Handler).serve_forever()
