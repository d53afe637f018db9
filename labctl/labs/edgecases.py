"""The edge-cases lab: odd but possible HTTP/1.1 requests, sent byte by byte to each server.

Each case is one request (or a few, for pipelining) that real clients, proxies or attackers send,
with what RFC 9110/9112 requires of a server, why it matters, and what the lesson predicts each
stack does (from the RFC and the stacks' documentation and source). ``run_lab`` sends every case to
every server over a raw socket and records the status, whether the connection stayed open, and
whether the answer breaks a MUST. The predictions are only predictions: the measurement decides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from labctl.labs import LabPlugin
from labctl.measure.rawhttp import (
    CLOSED,
    OPEN,
    Exchange,
    Send,
    address,
    build_request,
    chunked,
    exchange,
    pieces,
)
from labctl.results import hostinfo
from labctl.results.documents import (
    EdgeBroken,
    EdgeCase,
    EdgeCasesDocument,
    EdgeCell,
    EdgeOutcome,
    EdgeOutcomeExtras,
    EdgeServer,
    EdgeSummary,
    EdgeWrong,
    server_facts,
)
from labctl.runtime.base import Limits, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.edge-cases/1"
HOST = "Host: labctl.test"
BODY = b"hello"
BIG_HEADER_BYTES = 48 * 1024     # above Node's 16 KiB limit, below a 64 KiB socket read
TRICKLE_BYTES = 1024             # the trickled big header goes out in writes of this size
TRICKLE_PAUSE_S = 0.005
CONTINUE_WAIT_S = 1.0            # how long a client waits for 100 Continue before sending anyway

# The Python server can run either parser uvicorn supports; it reads this variable (main.py).
PYTHON_PARSER_ENV = "UVICORN_HTTP_PARSER"
PYTHON_PARSERS = ("h11", "httptools")
PARSER_LOG_RE = re.compile(r"uvicorn HTTP parser: (\w+)")


@dataclass(frozen=True)
class Case:
    number: int
    key: str
    title: str
    writes: tuple[Send, ...]
    level: str              # what the RFC asks: MUST, SHOULD, MAY, or "—" (the application's call)
    requirement: str        # in our words
    reference: str          # where it is written
    why: str                # one line: why a learner should care
    # Outcomes that satisfy a MUST ("400", "2xx", "100 → 2xx"); empty when nothing is a MUST.
    allowed: tuple[str, ...] = ()
    must_close: bool = False          # the RFC requires closing the connection after answering
    responses: int = 1                # final responses expected (2 for pipelining)
    head: bool = False
    expect_continue: bool = False
    # What the lesson predicts, per column ("go", "python-h11", "python-httptools", "rust",
    # "node"): an outcome, optionally with the connection ("200 closed"); absent = not known.
    predicted: dict[str, str] = field(default_factory=dict)


def _get(target: str, *headers: str, version: str = "HTTP/1.1", method: str = "GET",
         eol: str = "\r\n") -> bytes:
    return build_request(f"{method} {target} {version}", [HOST, *headers], eol=eol)


def _post_echo(*headers: str, body: bytes = BODY) -> bytes:
    return build_request("POST /echo HTTP/1.1", [HOST, *headers], body)


def _one(data: bytes) -> tuple[Send, ...]:
    return (Send(data),)


def _all(outcome: str) -> dict[str, str]:
    return {column: outcome for column in ("go", "python-h11", "python-httptools", "rust", "node")}


def _by(go: str, h11: str, httptools: str, rust: str, node: str) -> dict[str, str]:
    found = {"go": go, "python-h11": h11, "python-httptools": httptools, "rust": rust,
             "node": node}
    return {k: v for k, v in found.items() if v}


_big = "X-Big: " + "a" * BIG_HEADER_BYTES
_big_request = _get("/health", _big)

CASES: tuple[Case, ...] = (
    Case(1, "cl-and-te", "Content-Length and Transfer-Encoding: chunked",
         _one(_post_echo("Content-Length: 5", "Transfer-Encoding: chunked", body=chunked(BODY))),
         "MUST", "chunked wins over Content-Length; a server may reject the request, and if it "
         "answers it must close the connection afterwards", "RFC 9112 §6.3 (rule 3)",
         "the classic request-smuggling pair: a proxy that trusts Content-Length and a server "
         "that trusts chunked see different requests", allowed=("4xx", "2xx"), must_close=True,
         predicted=_by("200 open", "200 open", "400", "200 closed", "400")),
    Case(2, "cl-twice-same", "two identical Content-Length fields",
         _one(_post_echo("Content-Length: 5", "Content-Length: 5")),
         "MAY", "reject, or treat the repeated identical value as one", "RFC 9110 §8.6",
         "proxies that collapse the pair and servers that reject it disagree about what came in",
         predicted=_by("200", "200", "400", "200", "400")),
    Case(3, "cl-conflict", "two different Content-Length values",
         _one(_post_echo("Content-Length: 5", "Content-Length: 6")),
         "MUST", "an invalid Content-Length is an unrecoverable framing error: answer 400 and "
         "close", "RFC 9112 §6.3 (rule 5)",
         "if one hop reads 5 bytes and the next 6, the extra byte starts a smuggled request",
         allowed=("400",), must_close=True, predicted=_all("400")),
    Case(4, "te-unknown", "Transfer-Encoding: gzip, chunked",
         _one(_post_echo("Transfer-Encoding: gzip, chunked", body=chunked(BODY))),
         "SHOULD", "a transfer coding the server does not implement should get 501",
         "RFC 9112 §6.1",
         "a server that accepts a coding it cannot decode hands the application bytes it "
         "misreads", predicted=_by("501", "400", "200", "200", "200")),
    Case(5, "obs-fold", "a header folded onto a second line (obs-fold)",
         _one(_get("/health", "X-Folded: first", " second")),
         "MUST", "reject with 400, or replace each fold with a space before using the value",
         "RFC 9112 §5.2",
         "a continuation line one hop joins and another hop treats as a new header hides a "
         "header from a filter", allowed=("400", "2xx"),
         predicted=_by("200", "200", "400", "400", "400")),
    Case(6, "bare-lf", "lines ended by a bare LF instead of CRLF",
         _one(_get("/health", eol="\n")),
         "MAY", "a recipient may accept a lone LF as a line ending", "RFC 9112 §2.2",
         "hops that split lines differently disagree on where headers end",
         predicted=_by("200", "200", "400", "200", "400")),
    Case(7, "space-before-colon", "whitespace between a header name and the colon",
         _one(_get("/health", "X-Name : value")),
         "MUST", "reject with 400", "RFC 9112 §5.1",
         "`Transfer-Encoding : chunked` read by one hop and ignored by another is a smuggling "
         "vector", allowed=("400",), predicted=_all("400")),
    Case(8, "no-host", "an HTTP/1.1 request without Host",
         _one(build_request("GET /health HTTP/1.1")),
         "MUST", "answer 400 to an HTTP/1.1 request that lacks Host", "RFC 9112 §3.2",
         "virtual hosting and cache keys depend on Host; a server that guesses one may serve "
         "another site's content", allowed=("400",),
         predicted=_by("400", "400", "200", "200", "400")),
    Case(9, "two-hosts", "two Host fields",
         _one(_get("/health", "Host: other.test")),
         "MUST", "answer 400 to a request with more than one Host", "RFC 9112 §3.2",
         "a proxy routing on the first Host and a server using the last is cache poisoning",
         allowed=("400",), predicted=_by("400", "400", "", "200", "200")),
    Case(10, "http10-keepalive", "HTTP/1.0 with Connection: keep-alive",
         _one(_get("/health", "Connection: keep-alive", version="HTTP/1.0")),
         "MAY", "persistent HTTP/1.0 connections are an old, optional extension",
         "RFC 9112 §9.3, Appendix C.2.2",
         "old clients and health checkers speak 1.0; closing means a new TCP handshake for "
         "every request", predicted=_by("200 open", "200 closed", "200 closed", "200 open",
                                        "200 open")),
    Case(11, "expect-continue", "Expect: 100-continue before a body",
         (Send(_post_echo("Content-Length: 5", "Expect: 100-continue", body=b"")), Send(BODY)),
         "MUST", "answer the header section at once: 100 Continue, or a final status",
         "RFC 9110 §10.1.1",
         "clients uploading large bodies wait for the 100; a server that never sends it makes "
         "every upload wait out the client's timer", allowed=("100 → 2xx", "100 → 4xx", "4xx"),
         expect_continue=True, predicted=_all("100 → 200")),
    Case(12, "pipelining", "two requests in one write (pipelining)",
         _one(_get("/health") + _get("/")),
         "MUST", "answer pipelined requests in the order they arrived", "RFC 9112 §9.3.2",
         "a server that answers out of order hands one client's response to the next request",
         allowed=("200, 200",), responses=2, predicted=_all("200, 200")),
    Case(13, "absolute-form", "absolute-form target: GET http://labctl.test/health",
         _one(_get("http://labctl.test/health")),
         "MUST", "accept the absolute form and take the host from it", "RFC 9112 §3.2.2",
         "proxies send this form; a server that routes on the whole URL returns 404 to them",
         allowed=("2xx",), predicted=_by("200", "404", "200", "200", "")),
    Case(14, "unknown-method", "an unknown but valid method: FOO /health",
         _one(_get("/health", method="FOO")),
         "SHOULD", "a method the server does not know should get 501", "RFC 9110 §9.1",
         "WebDAV and custom methods pass some hops and not others",
         predicted=_by("405", "405", "400", "405", "400")),
    Case(15, "invalid-method", "a method that is not a token: G(T /health",
         _one(_get("/health", method="G(T")),
         "SHOULD", "an invalid request line should get 400", "RFC 9112 §3",
         "every parser should refuse this; one that does not is parsing loosely",
         predicted=_all("400")),
    Case(16, "big-header", f"a {BIG_HEADER_BYTES // 1024} KiB header in one write",
         _one(_big_request),
         "—", "no limit is set; a server that refuses should say 431", "RFC 9110 §5.4, RFC 6585",
         "limits differ by stack, so a request one hop accepts another refuses",
         predicted=_by("200", "200", "200", "200", "431")),
    Case(17, "encoded-slash", "an encoded slash: GET /users%2F42",
         _one(_get("/users%2F42")),
         "—", "%2F is not equivalent to / (it is data, not a path separator)", "RFC 3986 §2.2",
         "a server that decodes %2F before routing reaches paths a proxy's rules never saw",
         predicted=_by("404", "200", "200", "404", "")),
    Case(18, "duplicate-query", "a repeated parameter: /users/42?mode=async&mode=x",
         _one(_get("/users/42?mode=async&mode=x")),
         "—", "the application decides what a repeated parameter means",
         "RFC 3986 §3.4; WHATWG URL",
         "a filter that checks the first value and an app that uses the last (parameter "
         "pollution)", predicted=_by("200", "400", "400", "400", "400")),
    Case(19, "head", "HEAD on a GET route",
         _one(_get("/health", method="HEAD")),
         "MUST", "a general-purpose server supports GET and HEAD", "RFC 9110 §9.1",
         "load balancers and link checkers use HEAD; a 405 marks a healthy server as down",
         allowed=("2xx",), head=True, predicted=_by("200", "405", "405", "200", "200")),
    Case(20, "options-star", "OPTIONS * (the server as a whole)",
         _one(_get("*", method="OPTIONS")),
         "—", "asks about the server, not a resource; the answer is up to it", "RFC 9110 §9.3.7",
         "some proxies ping with it; a 404 looks like an error to them",
         predicted=_by("200", "404", "404", "404", "404")),
    Case(21, "big-header-trickled",
         f"the same {BIG_HEADER_BYTES // 1024} KiB header, {TRICKLE_BYTES} bytes per write",
         tuple(Send(p, TRICKLE_PAUSE_S if i else 0.0)
               for i, p in enumerate(pieces(_big_request, TRICKLE_BYTES))),
         "—", "the same request; only how it arrives differs", "RFC 9112 §2.2",
         "a limit that depends on TCP segmentation accepts a header one day and refuses it "
         "the next", predicted=_by("200", "400", "200", "200", "431")),
    Case(22, "dot-segments", "dot segments: GET /users/../health",
         _one(_get("/users/../health")),
         "—", "dot segments are removed when resolving a reference; what a server does with "
         "them is its choice", "RFC 3986 §5.2.4",
         "path traversal: a proxy rule for /users/ and a server that normalises see different "
         "paths", predicted=_by("307", "404", "404", "404", "404")),
)


# -- outcomes ---------------------------------------------------------------------------------


def outcome_of(case: Case, result: Exchange) -> str:
    """The cell's text: statuses (with 100 Continue shown), or what happened instead."""
    if result.malformed:
        return "malformed"
    statuses = [str(r.status) for r in result.final]
    if not statuses:
        if result.connection != OPEN:
            return "closed" if result.connection == CLOSED else "reset"
        return "no answer"
    text = ", ".join(statuses)
    if case.expect_continue and result.continue_before_body:
        text = "100 → " + text
    return text


def matches(outcome: str, pattern: str) -> bool:
    """``"200"`` matches ``"2xx"``; ``"100 → 200"`` matches ``"100 → 2xx"``."""
    if len(outcome) != len(pattern):
        return False
    return all(p == "x" and o.isdigit() or p == o for o, p in zip(outcome, pattern))


def breaks_must(case: Case, outcome: str, connection: str) -> str | None:
    """Why this answer breaks the case's MUST, or None."""
    if case.level != "MUST":
        return None
    if case.allowed and not any(matches(outcome, p) for p in case.allowed):
        return f"the RFC allows only {' or '.join(case.allowed)}"
    if case.must_close and connection == OPEN and outcome not in ("closed", "reset"):
        return "the connection must be closed after this answer, and it stayed open"
    return None


def split_prediction(text: str) -> tuple[str, str | None]:
    """``"200 open"`` → ("200", "open"); ``"100 → 200"`` → ("100 → 200", None)."""
    for state in (OPEN, CLOSED):
        if text.endswith(" " + state):
            return text[: -len(state) - 1], state
    return text, None


def prediction_holds(prediction: str | None, outcome: str, connection: str) -> bool | None:
    if not prediction:
        return None
    status, state = split_prediction(prediction)
    return matches(outcome, status) and (state is None or state == connection)


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer ("400", "200 open", "closed", "100 -> 200") against a measured cell."""
    answer = answer.replace("->", "→")
    return bool(prediction_holds(answer, cell["outcome"], cell["connection"]))


# -- the lab ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the matrix: a server, and for Python the parser it runs."""

    server: Server
    parser: str | None = None

    @property
    def key(self) -> str:
        return f"{self.server.name}-{self.parser}" if self.parser else self.server.name

    @property
    def env(self) -> dict[str, str]:
        return {PYTHON_PARSER_ENV: self.parser} if self.parser else {}


def columns(chosen: list[Server], python_parser: str) -> list[Column]:
    """Python appears once per parser asked for (``both`` = h11 and httptools)."""
    out: list[Column] = []
    for server in chosen:
        if server.name == "python":
            parsers = PYTHON_PARSERS if python_parser == "both" else (python_parser,)
            out.extend(Column(server, p) for p in parsers)
        else:
            out.append(Column(server))
    return out


def run_case(case: Case, host: str, port: int) -> EdgeOutcome:
    result = exchange(host, port, case.writes, responses=case.responses, head=case.head,
                      expect_continue_wait_s=CONTINUE_WAIT_S if case.expect_continue else None)
    outcome = outcome_of(case, result)
    extras: EdgeOutcomeExtras = {}
    if result.malformed:
        extras["malformed"] = result.malformed
    if case.expect_continue:
        extras["continue_before_body"] = result.continue_before_body
    if case.responses > 1:
        bodies = [r.body for r in result.final]
        extras["in_order"] = len(bodies) == 2 and b"ok" in bodies[0] and b"Hello" in bodies[1]
    return {"outcome": outcome, "statuses": [r.status for r in result.final],
            "connection": result.connection,
            "connection_close_header": any(r.closes() for r in result.final),
            "timed_out": result.timed_out, "seconds": round(result.seconds, 3), **extras,
            "breaks_must": breaks_must(case, outcome, result.connection)}


def case_facts(case: Case) -> EdgeCase:
    return {"number": case.number, "key": case.key, "title": case.title, "level": case.level,
            "requirement": case.requirement, "reference": case.reference, "why": case.why,
            "allowed": list(case.allowed), "must_close": case.must_close,
            "request": b"".join(w.data for w in case.writes)[:300].decode("latin-1")}


def parser_in_use(logs: str) -> str | None:
    """The parser the Python server says it runs (main.py prints it at start)."""
    found = PARSER_LOG_RE.findall(logs)
    return found[-1] if found else None


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, python_parser: str,
            cases: tuple[Case, ...] = CASES,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> EdgeCasesDocument:
    phase = on_phase or (lambda _text: None)
    results: dict[str, EdgeServer] = {}
    for column in columns(chosen, python_parser):
        server = column.server
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        phase(f"starting {server.title}" + (f" with {column.parser}" if column.parser else ""))
        with running(runtime, server, limits, env=column.env) as instance:
            host, port = address(instance.url)
            cells: dict[str, EdgeCell] = {}
            for case in cases:
                phase(f"{column.key}: {case.number}. {case.title}")
                found = run_case(case, host, port)
                prediction = case.predicted.get(column.key) or case.predicted.get(server.name)
                cells[str(case.number)] = {
                    **found, "predicted": prediction,
                    "prediction_holds": prediction_holds(prediction, found["outcome"],
                                                         found["connection"])}
            entry: EdgeServer = {**server_facts(server), "column": column.key,
                     "path": {"kind": instance.path_kind, "description": instance.path},
                     "cells": cells}
            if server.name == "python":
                entry["parser_requested"] = column.parser
                entry["parser_reported"] = parser_in_use(runtime.logs(instance, tail=200))
            results[column.key] = entry
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"python_parser": python_parser, "continue_wait_s": CONTINUE_WAIT_S,
                       "big_header_bytes": BIG_HEADER_BYTES, "trickle_bytes": TRICKLE_BYTES,
                       "connection": "a new TCP connection per case"},
        "limits": limits.as_dict(),
        "cases": [case_facts(c) for c in cases],
        "servers": results,
        "summary": summarise(cases, results),
    }


def summarise(cases: tuple[Case, ...], results: dict[str, EdgeServer]) -> EdgeSummary:
    """Counts a reader wants first: MUSTs broken, predictions that failed, rows that differ."""
    broken: list[EdgeBroken] = []
    wrong: list[EdgeWrong] = []
    differing: list[int] = []
    for case in cases:
        outcomes = set()
        for column, entry in results.items():
            cell = entry["cells"][str(case.number)]
            outcomes.add(cell["outcome"])
            if cell["breaks_must"]:
                broken.append({"case": case.number, "column": column, "why": cell["breaks_must"]})
            predicted = cell["predicted"]
            if cell["prediction_holds"] is False and predicted is not None:   # None never fails
                wrong.append({"case": case.number, "column": column, "predicted": predicted,
                              "measured": f"{cell['outcome']} {cell['connection']}"})
        if len(outcomes) > 1:
            differing.append(case.number)
    return {"musts_broken": broken, "predictions_wrong": wrong, "rows_that_differ": differing}


def _run_with_parser(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: str,
                     on_phase: Callable[[str], None] | None = None,
                     on_build_line: Callable[[str], None] | None = None) -> EdgeCasesDocument:
    """The plug-in's entry point: this lab's settings are the Python parser choice."""
    return run_lab(runtime, chosen, limits=limits, python_parser=settings, on_phase=on_phase,
                   on_build_line=on_build_line)


def _sheet(chosen: list[Server], python_parser: str) -> str:
    from labctl.labs import predictions

    return predictions.sheet(
        "labctl lab edge-cases", [c.key for c in columns(chosen, python_parser)],
        [(str(c.number), c.title) for c in CASES],
        'An answer is a status (400), a status and the connection ("200 open", '
        '"200 closed"), "closed" (no answer), or for row 11 "100 -> 200".')


PLUGIN = LabPlugin(
    name="edge-cases",
    run=_run_with_parser,
    sheet=_sheet, judge=judge_learner, cells_of=lambda entry: entry["cells"],
    row_keys=lambda: {c.key: str(c.number) for c in CASES})
