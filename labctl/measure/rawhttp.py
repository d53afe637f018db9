"""HTTP/1.1 over a bare socket: requests built byte by byte, responses parsed by hand.

The edge-cases lab sends requests no HTTP client library would produce (a space before a colon,
two Content-Lengths, a header folded over two lines), and needs to see exactly what came back,
including "nothing" and "the connection was closed". So this module builds the bytes itself,
parses responses without trusting any library's leniency, and tells a closed connection from an
open one. The builders and the parser are pure and unit-tested; ``exchange`` does the I/O.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CRLF = "\r\n"


# -- building requests ----------------------------------------------------------------------


def build_request(request_line: str, header_lines: Iterable[str] = (), body: bytes = b"",
                  *, eol: str = CRLF) -> bytes:
    """The exact bytes of one request. Header lines are taken as written (``"Host: x"``, or a
    malformed ``"Host : x"``), so every oddity the lab needs can be expressed; ``eol`` is the
    line ending (``"\\n"`` for bare LF)."""
    head = eol.join([request_line, *header_lines]) + eol + eol
    return head.encode("latin-1") + body


def chunked(body: bytes, *, chunk_size: int | None = None) -> bytes:
    """``body`` in chunked transfer coding (RFC 9112 §7.1), in one chunk or pieces of
    ``chunk_size`` bytes, closed by the zero-size last chunk."""
    size = chunk_size or max(len(body), 1)
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    out = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces)
    return out + b"0\r\n\r\n"


def pieces(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into ``size``-byte writes (to trickle a request)."""
    return [data[i:i + size] for i in range(0, len(data), size)]


# -- parsing responses ----------------------------------------------------------------------


class MalformedResponse(ValueError):
    """The server sent bytes that are not an HTTP/1.x response."""


@dataclass
class RawResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first field with this name (case-insensitive), or None."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)

    @property
    def interim(self) -> bool:
        """A 1xx answer (such as 100 Continue): more responses follow for the same request."""
        return 100 <= self.status < 200

    def closes(self) -> bool:
        """Does the response itself announce that the connection ends after it?"""
        value = (self.header("connection") or "").lower()
        if "close" in value:
            return True
        return self.version == "HTTP/1.0" and "keep-alive" not in value


def parse_response(data: bytes, *, head: bool = False,
                   eof: bool = False) -> tuple[RawResponse, int] | None:
    """One response from the start of ``data``: (response, bytes it used), or None when more
    bytes are needed. ``head``: the request was HEAD, so no body follows whatever the headers
    say. ``eof``: the peer has closed, so a body delimited by the close is complete.
    Raises MalformedResponse for bytes that cannot be a response."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if eof and data:
            raise MalformedResponse("the connection closed in the middle of a response head")
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    version, status, reason = _status_line(lines[0])
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise MalformedResponse(f"not a header line: {line[:60]!r}")
        headers.append((name, value.strip()))
    response = RawResponse(version, status, reason, headers)
    start = end + 4
    if head or response.interim or status in (204, 304):
        return response, start
    transfer = (response.header("transfer-encoding") or "").lower()
    if transfer:
        if not transfer.endswith("chunked"):
            raise MalformedResponse(f"unsupported Transfer-Encoding: {transfer}")
        decoded = _dechunk(data, start)
        if decoded is None:
            if eof:
                raise MalformedResponse("the connection closed in the middle of a chunked body")
            return None
        response.body, used = decoded
        return response, used
    length = response.header("content-length")
    if length is not None:
        if not length.isdigit():
            raise MalformedResponse(f"invalid Content-Length: {length!r}")
        stop = start + int(length)
        if len(data) < stop:
            if eof:
                raise MalformedResponse("the connection closed before the whole body arrived")
            return None
        response.body = data[start:stop]
        return response, stop
    # Neither: the body runs until the server closes the connection (RFC 9112 §6.3, rule 8).
    if not eof:
        return None
    response.body = data[start:]
    return response, len(data)


def parse_responses(data: bytes, *, head: bool = False,
                    eof: bool = False) -> tuple[list[RawResponse], bytes]:
    """Every complete response at the start of ``data``, and the bytes left over."""
    found = []
    while data:
        parsed = parse_response(data, head=head, eof=eof)
        if parsed is None:
            break
        response, used = parsed
        found.append(response)
        data = data[used:]
    return found, data


def _status_line(line: str) -> tuple[str, int, str]:
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise MalformedResponse(f"not a status line: {line[:60]!r}")
    return version, int(code), reason


def _dechunk(data: bytes, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body that begins at ``start``: (body, end offset) or None if cut."""
    body = bytearray()
    at = start
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = data[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise MalformedResponse(f"bad chunk size: {size_text[:20]!r}") from None
        at = line_end + 2
        if size == 0:
            # Trailer fields, if any, then the empty line that ends the message.
            while True:
                line_end = data.find(b"\r\n", at)
                if line_end < 0:
                    return None
                empty = line_end == at
                at = line_end + 2
                if empty:
                    return bytes(body), at
        if len(data) < at + size + 2:
            return None
        body += data[at:at + size]
        at += size + 2


def address(url: str) -> tuple[str, int]:
    """(host, port) of an ``http://host:port`` URL, as a socket needs them."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


# -- talking to a server --------------------------------------------------------------------

OPEN, CLOSED, RESET = "open", "closed", "reset"


@dataclass
class Exchange:
    """What one raw exchange saw: the responses in order, and the connection afterwards."""

    responses: list[RawResponse] = field(default_factory=list)
    connection: str = OPEN          # open | closed | reset, after the last response
    timed_out: bool = False         # the server neither answered nor closed in time
    malformed: str | None = None    # the server's bytes could not be parsed
    continue_before_body: bool | None = None   # Expect: 100-continue only
    seconds: float = 0.0

    @property
    def final(self) -> list[RawResponse]:
        return [r for r in self.responses if not r.interim]


@dataclass(frozen=True)
class Send:
    """One write, after an optional pause (a trickling client is many of them)."""

    data: bytes
    pause_s: float = 0.0


def exchange(host: str, port: int, writes: Sequence[Send], *, responses: int = 1,
             head: bool = False, timeout_s: float = 3.0, linger_s: float = 0.3,
             expect_continue_wait_s: float | None = None) -> Exchange:
    """Send ``writes`` on a new connection, read until ``responses`` final responses arrived
    (or the server closed, or ``timeout_s`` passed), then wait ``linger_s`` to see whether the
    server keeps the connection open.

    ``expect_continue_wait_s``: the first write is a head with ``Expect: 100-continue``; wait
    that long for an answer before sending the rest, as a real client does.
    """
    began = time.monotonic()
    result = Exchange()
    buffer = b""
    eof: bool | str = False
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for index, write in enumerate(writes):
                if write.pause_s:
                    time.sleep(write.pause_s)
                sock.sendall(write.data)
                if index == 0 and expect_continue_wait_s is not None:
                    buffer, eof = _read_some(sock, buffer, expect_continue_wait_s)
                    early, _ = parse_responses(buffer, head=head, eof=bool(eof))
                    result.continue_before_body = any(r.status == 100 for r in early)
                    if any(not r.interim for r in early) or eof:
                        break   # a final answer (or a close) instead of 100: send no body
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server gave up on the request mid-send; what it said is still readable
        deadline = time.monotonic() + timeout_s
        while not eof:
            try:
                done, rest = parse_responses(buffer, head=head)
            except MalformedResponse as exc:
                result.malformed = str(exc)
                break
            if len([r for r in done if not r.interim]) >= responses:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                result.timed_out = True
                break
            buffer, eof = _read_some(sock, buffer, left)
            if eof == RESET:
                result.connection = RESET
        try:
            result.responses, _ = parse_responses(buffer, head=head, eof=bool(eof))
        except MalformedResponse as exc:
            result.malformed = str(exc)
        if eof:
            result.connection = RESET if eof == RESET else CLOSED
        elif not result.timed_out and not result.malformed:
            # Answered: does the server keep the connection for another request?
            extra, eof = _read_some(sock, b"", linger_s)
            if eof:
                result.connection = RESET if eof == RESET else CLOSED
    result.seconds = time.monotonic() - began
    return result


def _read_some(sock: socket.socket, buffer: bytes,
               wait_s: float) -> tuple[bytes, bool | str]:
    """Whatever arrives within ``wait_s`` (at least one read): (buffer, eof) where eof is
    False, True (the peer closed) or RESET (it reset the connection)."""
    sock.settimeout(max(wait_s, 0.001))
    try:
        chunk = sock.recv(65536)
    except TimeoutError:
        return buffer, False
    except ConnectionResetError:
        return buffer, RESET
    if not chunk:
        return buffer, True
    return buffer + chunk, False
