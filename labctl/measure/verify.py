"""Functional checks before anything is measured, in the manner of the public framework
benchmarks: a server that answers the wrong thing quickly must not win a comparison.

Uses httpx (correctness, not timing). Each check is pass, warn or fail, with a reason.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

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
            _check_common(result, "/", root, "text/plain")
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
            _check_common(result, "/health", health, "application/json")
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


def _check_common(result: Verification, path: str, response: httpx.Response,
                  content_type: str) -> None:
    result.checks.append(Check(f"GET {path} status", PASS, "200 OK"))
    actual_type = response.headers.get("content-type", "")
    if actual_type.split(";")[0].strip().lower() == content_type:
        result.checks.append(Check(f"GET {path} Content-Type", PASS, actual_type))
    else:
        result.checks.append(Check(f"GET {path} Content-Type", FAIL,
                                   f"expected {content_type}, got {actual_type or 'none'!r}"))
    length = response.headers.get("content-length")
    chunked = "chunked" in response.headers.get("transfer-encoding", "").lower()
    if length is not None:
        if int(length) == len(response.content):
            result.checks.append(Check(f"GET {path} framing", PASS, f"Content-Length {length}"))
        else:
            result.checks.append(Check(f"GET {path} framing", FAIL,
                                       f"Content-Length {length} but {len(response.content)} bytes"))
    elif chunked:
        result.checks.append(Check(f"GET {path} framing", PASS, "Transfer-Encoding: chunked"))
    else:
        result.checks.append(Check(f"GET {path} framing", FAIL,
                                   "neither Content-Length nor Transfer-Encoding"))
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
