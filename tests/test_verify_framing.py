"""verify judges framing on the bytes a server really sent, and the content with httpx.

Each test starts a tiny socket server on loopback that answers with exact bytes, some of which
no HTTP server library would produce (a Content-Length that lies), so what verify sees is what a
client on the wire would see. No engine needed.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from types import SimpleNamespace

from labctl.measure import verify
from labctl.measure.rawhttp import chunked

GREETING = "Hello from a tiny test server\n"
HEALTH = b'{"status":"ok"}'


def _head(status: str, fields: list[str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def framed(body: bytes, content_type: str, status: str = "200 OK",
           extra: tuple[str, ...] = ()) -> bytes:
    return _head(status, [f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
                          *extra]) + body


def answers(path: str) -> bytes:
    """A well-behaved server's bytes for each path verify asks for."""
    if path == "/":
        return framed(GREETING.encode(), "text/plain; charset=utf-8")
    if path == "/health":
        return framed(HEALTH, "application/json")
    return framed(b"not found", "text/plain", "404 Not Found")


@contextmanager
def tiny_server(respond: Callable[[str], bytes], *, close: bool = True) -> Iterator[str]:
    """A server on 127.0.0.1 that answers each request with ``respond(path)``'s exact bytes,
    then closes the connection (or, with close=False, keeps it open for a moment)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if not data:
                    continue
                path = data.split(b" ", 2)[1].decode()
                conn.sendall(respond(path))
                if not close:
                    stopping.wait(1.0)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(5)
        listener.close()


def _verify(url: str) -> verify.Verification:
    server = SimpleNamespace(name="tiny", greeting=GREETING)
    return verify.verify_responses(server, url)   # type: ignore[arg-type]


def _check(result: verify.Verification, name: str) -> verify.Check:
    return next(c for c in result.checks if c.name == name)


def test_a_well_framed_server_passes_every_check():
    with tiny_server(answers) as url:
        result = _verify(url)
    assert result.status == verify.PASS, result.as_dict()
    assert _check(result, "GET /health framing").reason == "Content-Length 15, exactly 15 bytes sent"


def test_a_content_length_smaller_than_the_body_fails_verify_with_one_line():
    def lying(path: str) -> bytes:
        if path == "/health":   # declares 23 bytes, sends 34, as in the issue
            body = b'{"status":"ok","extra":"x-x-x-x"}\n'
            assert len(body) == 34
            return _head("200 OK", ["Content-Type: application/json",
                                    "Content-Length: 23"]) + body
        return answers(path)

    with tiny_server(lying) as url:
        result = _verify(url)
    framing = _check(result, "GET /health framing")
    assert framing.status == verify.FAIL
    assert framing.reason == "Content-Length 23 but 34 bytes followed the head"
    assert "\n" not in framing.reason
    assert result.status == verify.FAIL
    assert _check(result, "GET / framing").status == verify.PASS


def test_a_lying_content_length_is_caught_when_the_server_keeps_the_connection_open():
    def lying(path: str) -> bytes:
        return _head("200 OK", ["Content-Type: application/json", "Content-Length: 5"]) + HEALTH

    with tiny_server(lying, close=False) as url:
        status, reason = verify.framing_on_the_wire(url, "/health")
    assert (status, reason) == (verify.FAIL, "Content-Length 5 but 15 bytes followed the head")


def test_a_correctly_framed_compressed_body_passes():
    packed = gzip.compress(HEALTH)
    assert len(packed) != len(HEALTH)   # httpx would hand verify the decoded, longer body

    def compressing(path: str) -> bytes:
        if path == "/health":
            return framed(packed, "application/json", extra=("Content-Encoding: gzip",))
        return answers(path)

    with tiny_server(compressing) as url:
        result = _verify(url)
    assert _check(result, "GET /health framing").status == verify.PASS
    assert _check(result, "GET /health body").status == verify.PASS   # content: decoded by httpx
    assert result.status == verify.PASS


def test_a_correctly_chunked_body_passes():
    def chunking(path: str) -> bytes:
        if path == "/health":
            return _head("200 OK", ["Content-Type: application/json",
                                    "Transfer-Encoding: chunked"]) + chunked(HEALTH, chunk_size=4)
        return answers(path)

    with tiny_server(chunking) as url:
        result = _verify(url)
    assert _check(result, "GET /health framing").reason == "Transfer-Encoding: chunked, 15 body bytes"
    assert result.status == verify.PASS


# -- the judgement itself, on recorded bytes ---------------------------------------------------

HEAD_CL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
HEAD_TE = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_framing_passes_exactly_the_declared_length():
    assert verify.judge_framing(HEAD_CL + b"abcd", closed=True) == (
        verify.PASS, "Content-Length 4, exactly 4 bytes sent")


def test_framing_fails_one_byte_more_than_declared():
    assert verify.judge_framing(HEAD_CL + b"abcde", closed=True) == (
        verify.FAIL, "Content-Length 4 but 5 bytes followed the head")


def test_framing_fails_one_byte_fewer_than_declared_and_says_the_connection_closed():
    assert verify.judge_framing(HEAD_CL + b"abc", closed=True) == (
        verify.FAIL, "Content-Length 4 but 3 bytes followed the head, then the connection closed")
    assert verify.judge_framing(HEAD_CL + b"abc", closed=False)[1].endswith(
        "then nothing more came")


def test_framing_fails_bytes_after_the_last_chunk():
    assert verify.judge_framing(HEAD_TE + chunked(b"abcd") + b"xy", closed=True) == (
        verify.FAIL, "2 bytes after the chunked body's last chunk")


def test_framing_fails_a_chunked_body_without_its_last_chunk():
    status, reason = verify.judge_framing(HEAD_TE + b"4\r\nabcd\r\n", closed=True)
    assert status == verify.FAIL
    assert reason.startswith("chunked body without its last chunk")


def test_framing_fails_both_length_and_chunked():
    raw = (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunked(b"abcd"))
    assert verify.judge_framing(raw, closed=True)[0] == verify.FAIL


def test_framing_fails_neither_length_nor_chunked():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabcd"
    assert verify.judge_framing(raw, closed=True) == (
        verify.FAIL, "neither Content-Length nor Transfer-Encoding")


def test_framing_fails_without_a_complete_head():
    assert verify.judge_framing(b"HTTP/1.1 200 OK\r\n", closed=True)[0] == verify.FAIL
