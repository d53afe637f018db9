"""Functional checks before anything is measured, in the manner of the public framework
benchmarks: a server that answers the wrong thing quickly must not win a comparison.

Content is checked with httpx (correctness, not timing); framing is checked on the raw bytes
(rawhttp), because an HTTP library reads what the headers declare and drops the rest: a server
that declares 23 bytes and sends 34 would pass, and a correctly framed compressed body, which the
library decodes, would look the wrong length. Each check is pass, warn or fail, with a reason.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from labctl.measure import rawhttp
from labctl.results import documents
from labctl.servers import Server

PASS, WARN, FAIL = "pass", "warn", "fail"
MISSING_PATH = "/labctl-no-such-path"
# Date has one-second resolution: two answers this far apart must carry different Dates.
DATE_GAP_S = 1.1


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    reason: str

    def as_dict(self) -> documents.Check:
        return {"check": self.name, "status": self.status, "reason": self.reason}


@dataclass
class Verification:
    server: str
    checks: list[Check] = field(default_factory=list)
    _first_date: tuple[float, str] | None = None

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.checks}
        return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def as_dict(self) -> documents.Verification:
        return {"server": self.server, "status": self.status,
                "checks": [c.as_dict() for c in self.checks]}


def _client() -> httpx.Client:
    return httpx.Client(timeout=5.0, trust_env=False, follow_redirects=False)


def verify_responses(server: Server, base_url: str) -> Verification:
    """Check GET /, GET /health and a missing path. Call ``verify_date_changes`` later."""
    result = Verification(server=server.name)
    with _client() as client:
        root = _get(client, base_url, "/", result)
        if root is not None:
            _check_common(result, base_url, "/", root, "text/plain")
            body = root.content.decode("utf-8", "replace")
            if body == server.greeting:
                result.checks.append(Check("GET / body", PASS, f"{body.strip()!r}"))
            elif body.strip() == server.greeting.strip():
                result.checks.append(Check("GET / body", WARN,
                                           f"greeting differs in white space: {body!r}"))
            else:
                result.checks.append(Check("GET / body", FAIL,
                                           f"expected {server.greeting.strip()!r}, got {body[:60]!r}"))
            date = root.headers.get("date")
            if date:
                result._first_date = (time.monotonic(), date)

        health = _get(client, base_url, "/health", result)
        if health is not None:
            _check_common(result, base_url, "/health", health, "application/json")
            try:
                document = json.loads(health.content)
            except ValueError:
                result.checks.append(Check("GET /health body", FAIL,
                                           f"not JSON: {health.content[:60]!r}"))
            else:
                if document == {"status": "ok"}:
                    result.checks.append(Check("GET /health body", PASS, '{"status":"ok"}'))
                else:
                    result.checks.append(Check("GET /health body", FAIL,
                                               f'expected {{"status":"ok"}}, got {document!r}'))

        missing = _get(client, base_url, MISSING_PATH, result, expect=404)
        if missing is not None:
            result.checks.append(Check(f"GET {MISSING_PATH}", PASS, "404 Not Found"))
    return result


def verify_date_changes(result: Verification, base_url: str) -> None:
    """The Date header must be the current time, not a value cached at start-up."""
    if result._first_date is None:
        return
    first_at, first_date = result._first_date
    wait = DATE_GAP_S - (time.monotonic() - first_at)
    if wait > 0:
        time.sleep(wait)
    with _client() as client:
        try:
            later = client.get(base_url + "/").headers.get("date")
        except httpx.HTTPError as exc:
            result.checks.append(Check("Date changes", FAIL, f"second request failed: {exc}"))
            return
    if later and later != first_date:
        result.checks.append(Check("Date changes", PASS, "a later answer carried a later Date"))
    else:
        result.checks.append(Check("Date changes", WARN,
                                   f"Date stayed {first_date!r} over {DATE_GAP_S:g} s"))


def _get(client: httpx.Client, base_url: str, path: str, result: Verification,
         expect: int = 200) -> httpx.Response | None:
    try:
        response = client.get(base_url + path)
    except httpx.HTTPError as exc:
        result.checks.append(Check(f"GET {path}", FAIL, f"request failed: {exc!r}"))
        return None
    if response.status_code != expect:
        result.checks.append(Check(f"GET {path}", FAIL,
                                   f"status {response.status_code}, expected {expect}"))
        return None
    return response


def _check_common(result: Verification, base_url: str, path: str, response: httpx.Response,
                  content_type: str) -> None:
    result.checks.append(Check(f"GET {path} status", PASS, "200 OK"))
    actual_type = response.headers.get("content-type", "")
    if actual_type.split(";")[0].strip().lower() == content_type:
        result.checks.append(Check(f"GET {path} Content-Type", PASS, actual_type))
    else:
        result.checks.append(Check(f"GET {path} Content-Type", FAIL,
                                   f"expected {content_type}, got {actual_type or 'none'!r}"))
    status, reason = framing_on_the_wire(base_url, path)
    result.checks.append(Check(f"GET {path} framing", status, reason))
    date = response.headers.get("date")
    if not date:
        result.checks.append(Check(f"GET {path} Date", FAIL, "no Date header"))
        return
    try:
        parsedate_to_datetime(date)
    except (TypeError, ValueError):
        result.checks.append(Check(f"GET {path} Date", FAIL, f"unparseable Date {date!r}"))
    else:
        result.checks.append(Check(f"GET {path} Date", PASS, date))


def framing_on_the_wire(base_url: str, path: str, timeout_s: float = 5.0) -> tuple[str, str]:
    """GET ``path`` on a raw socket and judge the response's framing from the bytes sent."""
    host, port = rawhttp.address(base_url)
    request = rawhttp.build_request(f"GET {path} HTTP/1.1",
                                    [f"Host: {host}:{port}", "Connection: close"])
    try:
        raw, closed = rawhttp.read_response_bytes(host, port, request, timeout_s=timeout_s)
    except OSError as exc:
        return FAIL, f"raw request failed: {exc}"
    return judge_framing(raw, closed)


def judge_framing(raw: bytes, closed: bool) -> tuple[str, str]:
    """(status, reason) for the framing of the one response in ``raw``: every byte the server
    sent for a request with ``Connection: close``, up to its close (``closed``) or a quiet wait.

    The body the headers declare must be exactly the bytes that follow the head: no fewer (the
    client would wait, or read a truncated body) and no more (a keep-alive client would read
    them as the start of the next response).
    """
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        return FAIL, f"no complete response head in {len(raw)} bytes"
    try:
        parsed = rawhttp.parse_response(raw[:head_end + 4], head=True, eof=True)
    except rawhttp.MalformedResponse as exc:
        return FAIL, str(exc)
    assert parsed is not None   # a whole head, parsed as for HEAD: never "need more bytes"
    response, body_start = parsed
    after_head = len(raw) - body_start
    length = response.header("content-length")
    transfer = (response.header("transfer-encoding") or "").lower()
    if length is not None and transfer:
        return FAIL, "both Content-Length and Transfer-Encoding (RFC 9112 §6.2 forbids it)"
    if transfer:
        if not transfer.endswith("chunked"):
            return FAIL, f"Transfer-Encoding {transfer!r} does not end in chunked"
        try:
            decoded = rawhttp.dechunk(raw, body_start)
        except rawhttp.MalformedResponse as exc:
            return FAIL, f"chunked body: {exc}"
        if decoded is None:
            return FAIL, (f"chunked body without its last chunk ({after_head} bytes, then "
                          + ("the connection closed)" if closed else "nothing)"))
        body, end = decoded
        if end != len(raw):
            return FAIL, f"{len(raw) - end} bytes after the chunked body's last chunk"
        return PASS, f"Transfer-Encoding: chunked, {len(body)} body bytes"
    if length is None:
        return FAIL, "neither Content-Length nor Transfer-Encoding"
    if not length.isdigit():
        return FAIL, f"invalid Content-Length {length!r}"
    declared = int(length)
    if after_head > declared:
        return FAIL, f"Content-Length {declared} but {after_head} bytes followed the head"
    if after_head < declared:
        ending = "then the connection closed" if closed else "then nothing more came"
        return FAIL, f"Content-Length {declared} but {after_head} bytes followed the head, {ending}"
    return PASS, f"Content-Length {declared}, exactly {declared} bytes sent"
