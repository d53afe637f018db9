"""verify judges framing on the bytes a server really sent, and the content with httpx.

Each test starts a tiny socket server on loopback that answers with exact bytes, some of which
no HTTP server library would produce (a Content-Length that lies), so what verify sees is what a
client on the wire would see. No engine needed.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from types import SimpleNamespace

import pytest

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


def test_framing_of_a_head_that_does_not_parse_fails_with_the_parsers_reason():
    status, reason = verify.judge_framing(b"HTTX/9 oops\r\nContent-Length: 0\r\n\r\n", closed=True)
    assert status == verify.FAIL and reason


def test_framing_body_starts_after_the_blank_line_not_inside_it():
    # A four-byte body must count as four: the head ends with the whole CRLF CRLF.
    assert verify.judge_framing(HEAD_CL + b"abcd", closed=False)[0] == verify.PASS


def test_framing_fails_a_transfer_coding_that_is_not_chunked():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcd"
    assert verify.judge_framing(raw, closed=True) == (
        verify.FAIL, "Transfer-Encoding 'gzip' does not end in chunked")


def test_framing_fails_a_malformed_chunk_size():
    status, reason = verify.judge_framing(HEAD_TE + b"zz\r\nabcd\r\n0\r\n\r\n", closed=True)
    assert status == verify.FAIL and reason.startswith("chunked body: ")


def test_framing_on_the_wire_says_when_the_server_refuses_the_connection():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()   # nothing listens there now: refused at once
    status, reason = verify.framing_on_the_wire(f"http://127.0.0.1:{port}", "/health")
    assert status == verify.FAIL and reason.startswith("raw request failed")


# -- verify's content checks, each on a server that gets one thing wrong ------------------------

def _replacing(path: str, raw: bytes):
    return lambda asked: raw if asked == path else answers(asked)


def test_every_check_of_a_well_behaved_server_passes_and_none_is_a_failure():
    with tiny_server(answers) as url:
        result = _verify(url)
    assert [c.name for c in result.checks] == [
        "GET / status", "GET / Content-Type", "GET / framing", "GET / Date", "GET / body",
        "GET /health status", "GET /health Content-Type", "GET /health framing",
        "GET /health Date", "GET /health body", f"GET {verify.MISSING_PATH}"]
    assert result.failures == []
    assert result.as_dict() == {"server": "tiny", "status": "pass",
                                "checks": [c.as_dict() for c in result.checks]}
    assert result.as_dict()["checks"][0] == {"check": "GET / status", "status": "pass",
                                             "reason": "200 OK"}


def test_a_greeting_that_differs_only_in_white_space_is_a_warning_not_a_failure():
    body = ("  " + GREETING.strip() + "  ").encode()
    with tiny_server(_replacing("/", framed(body, "text/plain"))) as url:
        result = _verify(url)
    assert _check(result, "GET / body").status == verify.WARN
    assert result.status == verify.WARN and result.failures == []


def test_a_wrong_greeting_fails_and_is_the_one_failure():
    with tiny_server(_replacing("/", framed(b"Hi\n", "text/plain"))) as url:
        result = _verify(url)
    assert [c.name for c in result.failures] == ["GET / body"]
    assert result.status == verify.FAIL


def test_a_health_body_that_is_not_json_fails():
    with tiny_server(_replacing("/health", framed(b"ok", "application/json"))) as url:
        result = _verify(url)
    assert _check(result, "GET /health body").reason.startswith("not JSON")
    assert result.status == verify.FAIL


def test_a_wrong_content_type_fails():
    with tiny_server(_replacing("/health", framed(HEALTH, "text/html"))) as url:
        result = _verify(url)
    check = _check(result, "GET /health Content-Type")
    assert check.status == verify.FAIL and "text/html" in check.reason


def test_a_missing_or_unparseable_date_fails():
    no_date = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
               + HEALTH)
    with tiny_server(_replacing("/health", no_date)) as url:
        result = _verify(url)
    assert _check(result, "GET /health Date").reason == "no Date header"
    bad_date = no_date.replace(b"Content-Length", b"Date: yesterday\r\nContent-Length")
    with tiny_server(_replacing("/health", bad_date)) as url:
        result = _verify(url)
    assert _check(result, "GET /health Date").status == verify.FAIL


def test_a_missing_path_answered_200_fails():
    with tiny_server(lambda asked: answers("/health" if asked == verify.MISSING_PATH
                                           else asked)) as url:
        result = _verify(url)
    check = _check(result, f"GET {verify.MISSING_PATH}")
    assert (check.status, check.reason) == (verify.FAIL, "status 200, expected 404")


def test_a_redirect_is_not_followed():
    moved = _head("301 Moved Permanently", ["Location: /health", "Content-Length: 0"])
    with tiny_server(_replacing("/", moved)) as url:
        result = _verify(url)
    assert _check(result, "GET /").reason == "status 301, expected 200"


def test_verify_ignores_a_proxy_in_the_environment(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with tiny_server(answers) as url:
        assert _verify(url).status == verify.PASS


def _clock_server_switching_at(moment: float):
    """A server whose Date reads "A" before ``moment`` (time.monotonic()) and "B" after it."""
    def respond(path: str) -> bytes:
        date = "Mon, 01 Jan 2001 00:00:0" + ("0" if time.monotonic() < moment else "1") + " GMT"
        return (f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(GREETING)}\r\n\r\n{GREETING}").encode()
    return respond


@pytest.mark.serial   # bounds the wait by the clock
def test_date_changes_waits_out_the_rest_of_the_gap_then_asks_again():
    now = time.monotonic()
    with tiny_server(_clock_server_switching_at(now + 0.3)) as url:
        result = verify.Verification(server="tiny")
        # The first answer came 0.6 s ago: 0.5 s of the 1.1 s gap are left to wait, and the
        # server's Date changes 0.3 s from now.
        result._first_date = (now - 0.6, "Mon, 01 Jan 2001 00:00:00 GMT")
        verify.verify_date_changes(result, url)
        waited = time.monotonic() - now
    assert _check(result, "Date changes").status == verify.PASS
    assert 0.45 <= waited < 0.95, waited


def test_a_date_that_never_changes_is_a_warning():
    now = time.monotonic()
    with tiny_server(_clock_server_switching_at(now + 3600)) as url:
        result = verify.Verification(server="tiny")
        result._first_date = (now - verify.DATE_GAP_S, "Mon, 01 Jan 2001 00:00:00 GMT")
        verify.verify_date_changes(result, url)
    check = _check(result, "Date changes")
    assert check.status == verify.WARN and "00:00:00" in check.reason
    assert result.status == verify.WARN


def test_date_changes_fails_when_the_second_request_fails():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    result = verify.Verification(server="tiny")
    result._first_date = (time.monotonic() - verify.DATE_GAP_S, "x")
    verify.verify_date_changes(result, f"http://127.0.0.1:{port}")
    check = _check(result, "Date changes")
    assert check.status == verify.FAIL and check.reason.startswith("second request failed")


def test_date_changes_is_skipped_without_a_first_date():
    result = verify.Verification(server="tiny")
    verify.verify_date_changes(result, "http://127.0.0.1:9")
    assert result.checks == []


def test_framing_fails_an_invalid_content_length():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabc"
    assert verify.judge_framing(raw, closed=True) == (
        verify.FAIL, "invalid Content-Length 'abc'")


def test_framing_of_bytes_that_start_with_a_blank_line_names_the_bad_head_not_a_missing_one():
    status, reason = verify.judge_framing(b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", closed=True)
    assert status == verify.FAIL and not reason.startswith("no complete response head")
