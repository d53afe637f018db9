"""labctl's own load generator: an asyncio client with a minimal hand-written HTTP/1.1.

It is the bottleneck above a few thousand requests per second (see the project's measurement
notes), so a closed-loop run with it is flagged: it measures labctl, not the server. Its use is
the open loop (``--rate``), which Debian's wrk cannot do.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from labctl.measure.loadgen.options import LoadOptions

BUILTIN_COMFORT_RPS = 2000        # the built-in client's rate ceiling is "a few thousand"
BUILTIN_CLOSED_PERCENTILES = ("exact nearest-rank percentiles over every request, timed from "
                              "sending it to its complete response")
BUILTIN_OPEN_PERCENTILES = ("exact nearest-rank percentiles over every request, timed from its "
                            "intended send time whenever its connection was still busy "
                            "(coordinated omission corrected, as wrk2 does)")
BUILTIN_NON_2XX = "responses whose status is not 2xx"


class _RequestFailed(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class BuiltinOutcome:
    requests: int = 0
    non_2xx: int = 0
    bytes_read: int = 0
    duration_s: float = 0.0
    latencies_us: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0})
    # open loop
    slots: int = 0          # requests the schedule asked for
    sent: int = 0
    lateness_us: list[float] = field(default_factory=list)   # the client's own timer lateness

    def latency_summary(self) -> dict[str, float | None]:
        from labctl.measure.stats import percentile

        values = sorted(self.latencies_us)
        if not values:
            return {key: None for key in ("p50", "p90", "p99", "max", "min", "mean", "p75",
                                          "p999")}
        return {"p50": percentile(values, 50), "p90": percentile(values, 90),
                "p99": percentile(values, 99), "max": values[-1], "min": values[0],
                "mean": sum(values) / len(values), "p75": percentile(values, 75),
                "p999": percentile(values, 99.9)}

    def open_loop_facts(self, options: LoadOptions) -> dict[str, Any] | None:
        if options.rate is None:
            return None
        from labctl.measure.stats import percentile

        lateness = sorted(self.lateness_us)
        return {
            "target_rate": options.rate,
            "achieved_rate": round(self.requests / self.duration_s, 1) if self.duration_s else 0.0,
            "scheduled": self.slots,
            "sent": self.sent,
            "not_sent": self.slots - self.sent,
            "client_lateness_p99_us": round(percentile(lateness, 99), 1) if lateness else None,
        }


def _http_request(host: str, port: int, path: str, keepalive: bool) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: labctl-load",
             "Accept: */*"]
    if not keepalive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, int]:
    """(status, server keeps the connection open, bytes read) of one HTTP/1.1 response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        keep = not head.startswith(b"HTTP/1.0") and b"\r\nconnection: close" not in lower
        size = len(head)
        index = lower.find(b"\r\ncontent-length:")
        if index >= 0:
            end = lower.index(b"\r\n", index + 2)
            length = int(lower[index + 17:end])
            if length:
                await reader.readexactly(length)
            size += length
        elif b"\r\ntransfer-encoding: chunked" in lower:
            while True:
                line = await reader.readuntil(b"\r\n")
                length = int(line.split(b";", 1)[0], 16)
                await reader.readexactly(length + 2)
                size += len(line) + length + 2
                if length == 0:
                    break
        elif status not in (204, 304) and not 100 <= status < 200:
            body = await reader.read()   # no framing: the body ends when the server closes
            size += len(body)
            keep = False
        return status, keep, size
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError,
            ValueError):
        raise _RequestFailed("read") from None


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket
            pass


async def _connect(host: str, port: int, timeout_s: float) -> _Connection:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except TimeoutError:
        raise _RequestFailed("connect") from None
    except OSError:
        raise _RequestFailed("connect") from None
    return _Connection(reader, writer)


async def _exchange(conn: _Connection, request: bytes) -> tuple[int, bool, int]:
    try:
        conn.writer.write(request)
    except (ConnectionError, OSError, RuntimeError):
        raise _RequestFailed("write") from None
    return await _read_response(conn.reader)


async def run_builtin(url: str, options: LoadOptions) -> BuiltinOutcome:
    """Send ``options``' load to ``url`` with ``options.connections`` connections.

    Closed loop: each connection sends its next request as soon as the answer to the previous
    one arrives. Open loop: request i is due at start + i/rate; the next free connection sends
    it, and its latency counts from the due time if no connection was free then (coordinated
    omission corrected), from the real send time otherwise (the client's own timer lateness is
    not the server's; it is reported as ``lateness_us``). Requests still due at the end are not
    sent, and counted as such.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    request = _http_request(host, port, path, options.keepalive)
    outcome = BuiltinOutcome()
    clock = time.perf_counter
    start = clock()
    end = start + options.duration_s
    timeout = options.timeout_s
    last_done = start
    rate = options.rate
    interval = 1.0 / rate if rate else 0.0
    if rate:
        outcome.slots = max(1, math.floor(rate * options.duration_s))
    next_slot = 0

    def fail(kind: str) -> None:
        outcome.errors[kind] += 1

    async def one(conn: _Connection | None, began: float) -> tuple[_Connection | None, float]:
        """One request; returns the connection to reuse (None: closed) and the done time."""
        nonlocal last_done
        try:
            async with _TimeoutScope(timeout):
                if conn is None:
                    conn = await _connect(host, port, timeout)
                    if rate is None:
                        began = clock()   # closed loop: as wrk, connecting is not timed
                status, keep, size = await _exchange(conn, request)
        except _RequestFailed as failure:
            fail(failure.kind)
            if conn is not None:
                conn.close()
            return None, clock()
        except TimeoutError:
            fail("timeout")
            if conn is not None:
                conn.close()
            return None, clock()
        done = clock()
        outcome.requests += 1
        outcome.bytes_read += size
        if not 200 <= status < 300:
            outcome.non_2xx += 1
        outcome.latencies_us.append((done - began) * 1e6)
        last_done = max(last_done, done)
        if not keep or not options.keepalive:
            conn.close()
            conn = None
        return conn, done

    async def closed_worker() -> None:
        conn = None
        while clock() < end:
            ok_before = outcome.errors["connect"]
            conn, _ = await one(conn, clock())
            if outcome.errors["connect"] != ok_before:
                await asyncio.sleep(0.01)   # refused: do not spin
        if conn is not None:
            conn.close()

    async def open_worker() -> None:
        nonlocal next_slot
        conn = None
        free_at = clock()
        while True:
            slot = next_slot
            if slot >= outcome.slots:
                break
            next_slot += 1
            due = start + slot * interval
            now = clock()
            if now >= end:
                break
            if due > now:
                await asyncio.sleep(due - now)
            sent = clock()
            if free_at > due:
                began = due                     # waited for a free connection: it counts
            else:
                began = sent                    # the client's timer was late: not the server's
                outcome.lateness_us.append((sent - due) * 1e6)
            outcome.sent += 1
            conn, free_at = await one(conn, began)
        if conn is not None:
            conn.close()

    worker = closed_worker if rate is None else open_worker
    await asyncio.gather(*(worker() for _ in range(options.connections)))
    outcome.duration_s = max(end, last_done) - start
    return outcome


class _TimeoutScope:
    """``asyncio.timeout`` where it exists (3.11+), else no per-request timeout beyond connect."""

    def __init__(self, seconds: float) -> None:
        self._inner = asyncio.timeout(seconds) if hasattr(asyncio, "timeout") else None

    async def __aenter__(self):
        if self._inner is not None:
            await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        if self._inner is not None:
            return await self._inner.__aexit__(*exc)
        return False
