"""A stand-in upstream that records the exact bytes nginx forwards, and answers 200 "ok".

The proxy lab points nginx at it to see what a server behind nginx is handed for each odd
request: the request line, the headers, the body, and how the body is framed. It listens on the
address nginx reaches this machine at (Docker's bridge gateway, or loopback locally) on a port
the OS picks, serves one thread, and records each request with the row being sent at the time.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from labctl.results.documents import ForwardedRequest

READ_TIMEOUT_S = 1.0
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


@dataclass
class Forwarded:
    """One request as nginx forwarded it."""

    request_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def as_dict(self) -> ForwardedRequest:
        return {"request_line": self.request_line,
                "headers": [f"{k}: {v}" for k, v in self.headers],
                "body": self.body.decode("latin-1")[:200]}


def parse_forwarded(data: bytes) -> Forwarded | None:
    """The request at the start of ``data`` (head and the body its framing announces)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    found = Forwarded(lines[0], headers, b"")
    rest = data[end + 4:]
    length = found.header_values("content-length")
    if length and length[0].isdigit():
        found.body = rest[:int(length[0])]
    elif any("chunked" in v.lower() for v in found.header_values("transfer-encoding")):
        found.body = _dechunk(rest)
    return found


def _dechunk(data: bytes) -> bytes:
    body, position = b"", 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return body
        try:
            size = int(data[position:line_end].split(b";")[0], 16)
        except ValueError:
            return body
        if size == 0:
            return body
        body += data[line_end + 2:line_end + 2 + size]
        position = line_end + 2 + size + 2


def _complete(data: bytes) -> bool:
    """Has a whole request (head and announced body) arrived?"""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = data[:end].decode("latin-1").lower()
    rest = data[end + 4:]
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length" and value.strip().isdigit():
            return len(rest) >= int(value.strip())
        if name.strip() == "transfer-encoding" and "chunked" in value:
            return rest.endswith(b"0\r\n\r\n")
    return True


@dataclass
class Recorder:
    """The listening stand-in; ``row`` tags what arrives while a row is being sent."""

    bind_address: str
    row: str = ""
    seen: dict[str, list[Forwarded]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.bind_address, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{self.bind_address}:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(READ_TIMEOUT_S)
                data = b""
                deadline = time.monotonic() + READ_TIMEOUT_S
                while not _complete(data) and time.monotonic() < deadline:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                request = parse_forwarded(data)
                if request is not None:
                    self.seen.setdefault(self.row, []).append(request)
                try:
                    conn.sendall(ANSWER)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
