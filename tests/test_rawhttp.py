"""The raw HTTP/1.1 request builders and response parser (no real server), and one exchange
against a tiny socket server in a thread, to check what the lab calls open, closed and reset."""

from __future__ import annotations

import socket
import threading

import pytest

from labctl.labs import edgecases
from labctl.measure.rawhttp import (
    CLOSED,
    OPEN,
    RESET,
    MalformedResponse,
    Send,
    build_request,
    chunked,
    exchange,
    parse_response,
    parse_responses,
    pieces,
)

CASES = {c.number: c for c in edgecases.CASES}


def test_build_request_keeps_header_lines_exactly():
    data = build_request("GET / HTTP/1.1", ["Host: x", "X-Name : value"])
    assert data == b"GET / HTTP/1.1\r\nHost: x\r\nX-Name : value\r\n\r\n"


def test_build_request_with_bare_lf_and_a_body():
    data = build_request("POST /echo HTTP/1.1", ["Content-Length: 2"], b"hi", eol="\n")
    assert data == b"POST /echo HTTP/1.1\nContent-Length: 2\n\nhi"
    assert b"\r" not in data


def test_chunked_encoding():
    assert chunked(b"hello") == b"5\r\nhello\r\n0\r\n\r\n"
    assert chunked(b"hello", chunk_size=2) == b"2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n"
    assert chunked(b"") == b"0\r\n\r\n"


def test_pieces_rejoin_to_the_whole():
    data = bytes(range(256)) * 10
    parts = pieces(data, 1000)
    assert [len(p) for p in parts] == [1000, 1000, 560] and b"".join(parts) == data


@pytest.mark.parametrize("number,expected", [
    (7, b"X-Name : value\r\n"),
    (5, b"X-Folded: first\r\n second\r\n"),
    (15, b"G(T /health HTTP/1.1\r\n"),
    (13, b"GET http://labctl.test/health HTTP/1.1\r\n"),
])
def test_the_labs_requests_carry_their_oddity(number, expected):
    sent = b"".join(w.data for w in CASES[number].writes)
    assert expected in sent


def test_case_requests_are_framed_as_described():
    assert b"Host:" not in CASES[8].writes[0].data
    assert CASES[9].writes[0].data.count(b"Host:") == 2
    assert b"\r" not in CASES[6].writes[0].data
    assert CASES[1].writes[0].data.endswith(b"5\r\nhello\r\n0\r\n\r\n")
    assert CASES[3].writes[0].data.count(b"Content-Length") == 2
    pipelined = CASES[12].writes[0].data
    assert pipelined.count(b"HTTP/1.1\r\n") == 2 and CASES[12].responses == 2
    # The trickled header is the one-write request, cut into many writes.
    assert b"".join(w.data for w in CASES[21].writes) == CASES[16].writes[0].data
    assert len(CASES[21].writes) > 40
    # 100-continue: the head goes first, the body only after the wait.
    head, body = CASES[11].writes
    assert head.data.endswith(b"\r\n\r\n") and b"Expect: 100-continue" in head.data
    assert body.data == b"hello"


def test_parse_a_response_with_content_length():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloextra"
    response, used = parse_response(data)
    assert (response.status, response.reason, response.body) == (200, "OK", b"hello")
    assert response.header("x-a") == "b" and used == len(data) - 5
    assert not response.closes()


def test_incomplete_responses_need_more_bytes():
    assert parse_response(b"HTTP/1.1 200 OK\r\nContent-Le") is None
    assert parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel") is None
    with pytest.raises(MalformedResponse):
        parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", eof=True)


def test_parse_chunked_with_trailers():
    data = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n")
    response, used = parse_response(data)
    assert response.body == b"abcde" and used == len(data)
    assert parse_response(data[:-2]) is None


def test_body_until_close_needs_eof():
    data = b"HTTP/1.0 200 OK\r\n\r\nall of it"
    assert parse_response(data) is None
    response, _ = parse_response(data, eof=True)
    assert response.body == b"all of it" and response.closes()


def test_head_and_interim_responses_have_no_body():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n"
    response, used = parse_response(data, head=True)
    assert response.body == b"" and used == len(data)
    found, rest = parse_responses(b"HTTP/1.1 100 Continue\r\n\r\n"
                                  b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert [r.status for r in found] == [100, 201] and found[0].interim and rest == b""


def test_pipelined_responses_come_apart():
    one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    two = b"HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    found, rest = parse_responses(one + two + b"HTTP/1.1 2")
    assert [r.status for r in found] == [200, 404] and rest == b"HTTP/1.1 2"
    assert found[1].closes()


@pytest.mark.parametrize("data", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_malformed_responses_are_reported(data):
    with pytest.raises(MalformedResponse):
        parse_response(data)


# -- outcomes and the MUST check (pure) -------------------------------------------------------


def test_matches_patterns():
    assert edgecases.matches("200", "2xx") and not edgecases.matches("404", "2xx")
    assert edgecases.matches("100 → 201", "100 → 2xx")
    assert not edgecases.matches("200, 200", "200")


def test_breaks_must():
    assert edgecases.breaks_must(CASES[7], "200", OPEN)
    assert edgecases.breaks_must(CASES[7], "400", CLOSED) is None
    # Row 1: any status is allowed, but the connection must end.
    assert "closed" in edgecases.breaks_must(CASES[1], "200", OPEN)
    assert edgecases.breaks_must(CASES[1], "200", CLOSED) is None
    # A MAY never breaks.
    assert edgecases.breaks_must(CASES[6], "500", OPEN) is None


def test_predictions_and_learner_answers():
    assert edgecases.prediction_holds("200 open", "200", OPEN)
    assert not edgecases.prediction_holds("200 open", "200", CLOSED)
    assert edgecases.prediction_holds("400", "400", CLOSED)
    assert edgecases.prediction_holds(None, "400", CLOSED) is None
    cell = {"outcome": "100 → 200", "connection": OPEN}
    assert edgecases.judge_learner("100 -> 200", cell)
    assert not edgecases.judge_learner("200", cell)


def test_columns_split_python_by_parser():
    from labctl import servers

    chosen = [servers.get("go"), servers.get("python")]
    assert [c.key for c in edgecases.columns(chosen, "both")] == [
        "go", "python-h11", "python-httptools"]
    assert edgecases.columns(chosen, "h11")[1].env == {edgecases.PYTHON_PARSER_ENV: "h11"}
    assert edgecases.columns(chosen, "h11")[0].env == {}


def test_parser_reported_in_the_log():
    assert edgecases.parser_in_use("x\nuvicorn HTTP parser: httptools\n") == "httptools"
    assert edgecases.parser_in_use("nothing") is None


# -- one exchange against a socket server in this process --------------------------------------


def _serve_once(answer: bytes, then: str):
    """A one-connection server: read a request head, send ``answer``, then keep the connection
    (``open``), close it (``close``) or reset it (``reset``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()

    def run():
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(answer)
            if then == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            elif then == "open":
                done.wait(5)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, done, thread


@pytest.mark.serial   # a close is told from an open connection by a 0.3 s linger
@pytest.mark.parametrize("then,expected", [("open", OPEN), ("close", CLOSED), ("reset", RESET)])
def test_exchange_tells_open_closed_and_reset(then, expected):
    answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    port, done, thread = _serve_once(answer, then)
    try:
        result = exchange("127.0.0.1", port, [Send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
                          timeout_s=2, linger_s=0.3)
    finally:
        done.set()
        thread.join(5)
    assert [r.status for r in result.final] == [400]
    assert result.connection == expected


@pytest.mark.serial   # a 0.3 s timeout
def test_exchange_without_an_answer_times_out():
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        result = exchange("127.0.0.1", listener.getsockname()[1], [Send(b"GET / HTTP/1.1\r\n")],
                          timeout_s=0.3)
    finally:
        listener.close()
    assert result.timed_out and result.final == []
    assert edgecases.outcome_of(CASES[7], result) == "no answer"
