"""The slow-clients lab: a slowloris attack on each server, with its timeouts and without them.

Many connections each send the start of a request and then one more header byte every second,
never finishing the head. A server protects itself only with a header-read timeout; without one,
every such connection holds a descriptor (and a goroutine, a task, a socket object) for as long
as the client likes. Meanwhile a normal client keeps requesting /health on fresh connections, to
see whether real users notice.

Each server runs twice: as shipped (its timeouts set, short enough for the lab) and with the
stack's defaults (the servers read ``STACK_DEFAULT_TIMEOUTS=1``, which leaves their timeouts as
the framework sets them). ``run_lab`` measures; the predictions are the lesson's.
"""

from __future__ import annotations

import datetime as dt
import re
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from labctl.labs import LabPlugin
from labctl.measure.rawhttp import (
    MalformedResponse,
    Send,
    address,
    build_request,
    exchange,
    parse_response,
)
from labctl.results import hostinfo
from labctl.results.documents import (
    CutTimes,
    NormalClient,
    SlowClientsDocument,
    SlowConnection,
    SlowMeasured,
    SlowRun,
    SlowServer,
    SlowSummary,
    server_facts,
)
from labctl.runtime.base import Limits, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.slow-clients/1"
DEFAULTS_ENV = "STACK_DEFAULT_TIMEOUTS"
RUNS: tuple[tuple[str, dict[str, str]], ...] = (("shipped", {}),
                                                ("defaults", {DEFAULTS_ENV: "1"}))

SLOW_HEAD = build_request("GET /health HTTP/1.1", ["Host: labctl.test"])[:-2] + b"X-Slow: "
NORMAL_REQUEST = build_request("GET /health HTTP/1.1", ["Host: labctl.test", "Connection: close"])

# A close without an answer is "closed" whether it came as a FIN or a reset: which one a client
# sees depends only on whether one of its bytes was in flight when the server closed (unread
# bytes make the kernel reset), so the reset is kept as a detail (``by_reset``).
CUT_408, CUT_CLOSED, STILL_OPEN = "408", "closed", "open at the end"


@dataclass(frozen=True)
class Settings:
    connections: int = 20        # trickling connections
    interval_s: float = 1.0      # one byte per connection per interval
    window_s: float = 15.0       # how long each run watches
    normal_every_s: float = 0.2  # the normal client's pace
    normal_timeout_s: float = 2.0
    baseline_s: float = 2.0      # the normal client alone first: the latency to compare with


# `--quick`: half the connections, a window just long enough for the cuts the lesson predicts
# (5 s, checked every second, within CUT_TOLERANCE_S) to be seen, and a 1 s baseline (five
# requests at the normal client's pace: enough for the median the table shows).
QUICK = Settings(connections=10, window_s=8.0, baseline_s=1.0)


# What the lesson predicts for a trickling connection, per server and run: how it ends, and
# when (seconds after connecting; None: not within the window).
PREDICTED: dict[str, dict[str, tuple[str, float | None]]] = {
    # ReadHeaderTimeout 5 s as shipped: an absolute deadline from accept, then a silent close.
    "go": {"shipped": (CUT_CLOSED, 5.0), "defaults": (STILL_OPEN, None)},
    # uvicorn has no header timeout at all; its keep-alive timer starts only after a response.
    "python": {"shipped": (STILL_OPEN, None), "defaults": (STILL_OPEN, None)},
    # axum::serve in 0.8 gives hyper no timer, so hyper's header_read_timeout never runs.
    "rust": {"shipped": (STILL_OPEN, None), "defaults": (STILL_OPEN, None)},
    # headersTimeout 5 s, checked every second as shipped: a 408 at 5-6 s; Node's defaults
    # (60 s, checked every 30 s) fall outside the window.
    "node": {"shipped": (CUT_408, 5.0), "defaults": (STILL_OPEN, None)},
}
CUT_TOLERANCE_S = 2.0   # a cut "agrees" with a predicted time within this many seconds


@dataclass
class _Trickling:
    """One trickling connection while it runs: its entry in the document, and what only the
    run needs (when it opened, what the server sent so far)."""

    entry: SlowConnection
    opened_at: float
    buffer: bytes = field(default=b"")


def trickle(host: str, port: int, settings: Settings,
            stop: threading.Event | None = None) -> list[SlowConnection]:
    """Open ``connections`` sockets, send each the start of a request and then one byte per
    interval; record for each how and when the server ended it (or that it did not)."""
    selector = selectors.DefaultSelector()
    began = time.monotonic()
    conns: dict[socket.socket, _Trickling] = {}
    refused: list[SlowConnection] = []   # connections the server would not even take
    for index in range(settings.connections):
        try:
            sock = socket.create_connection((host, port), timeout=2)
            sock.sendall(SLOW_HEAD)
        except OSError as exc:
            refused.append({"index": index, "how": "refused", "after_s": 0.0, "error": str(exc)})
            continue
        sock.setblocking(False)
        conns[sock] = _Trickling({"index": index, "how": STILL_OPEN, "after_s": None,
                                  "bytes_sent": len(SLOW_HEAD)}, opened_at=time.monotonic())
        selector.register(sock, selectors.EVENT_READ)
    deadline = began + settings.window_s
    next_byte = time.monotonic() + settings.interval_s
    while time.monotonic() < deadline and selector.get_map() and not (stop and stop.is_set()):
        timeout = max(0.0, min(next_byte, deadline) - time.monotonic())
        for key, _ in selector.select(timeout):
            readable = cast(socket.socket, key.fileobj)
            _read_end(readable, conns[readable], selector)
        if time.monotonic() >= next_byte:
            for key in list(selector.get_map().values()):
                waiting = cast(socket.socket, key.fileobj)
                state = conns[waiting]
                if _answered(waiting):
                    # Read the server's answer (a 408, a close) before sending more: a byte
                    # sent to a socket the server has closed comes back as a reset, which
                    # would hide the answer.
                    _read_end(waiting, state, selector)
                    continue
                try:
                    state.entry["bytes_sent"] += waiting.send(b"a")
                except BlockingIOError:
                    pass
                except OSError:
                    state.entry["by_reset"] = True
                    _finish(waiting, state, selector, CUT_CLOSED)
            next_byte += settings.interval_s
    for sock, state in conns.items():
        if state.entry["how"] == STILL_OPEN:
            selector.unregister(sock)
        sock.close()
    selector.close()
    return sorted([*(state.entry for state in conns.values()), *refused],
                  key=lambda e: e["index"])


def _answered(sock: socket.socket) -> bool:
    """Has the server sent something (or closed) that is not read yet?"""
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def _read_end(sock: socket.socket, state: _Trickling, selector: selectors.BaseSelector) -> None:
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return
    except OSError:
        state.entry["by_reset"] = True
        _finish(sock, state, selector, CUT_CLOSED)
        return
    if data:
        state.buffer += data
        try:
            parsed = parse_response(state.buffer)
        except MalformedResponse:
            parsed = None
        if parsed:
            state.entry["status"] = parsed[0].status
            _finish(sock, state, selector, str(parsed[0].status))
        return
    # The peer closed. A 408 without Content-Length is delimited by that close.
    how = CUT_CLOSED
    if state.buffer:
        try:
            parsed = parse_response(state.buffer, eof=True)
        except MalformedResponse:
            parsed = None
        how = str(parsed[0].status) if parsed else "malformed"
    _finish(sock, state, selector, how)


def _finish(sock: socket.socket, state: _Trickling, selector: selectors.BaseSelector,
            how: str) -> None:
    if state.entry["how"] != STILL_OPEN:
        return
    state.entry["how"] = how
    state.entry["after_s"] = round(time.monotonic() - state.opened_at, 2)
    selector.unregister(sock)


def normal_client(host: str, port: int, settings: Settings, stop: threading.Event) -> NormalClient:
    """GET /health on a fresh connection every ``normal_every_s`` until ``stop``."""
    latencies: list[float] = []
    errors: list[str] = []
    statuses: dict[str, int] = {}
    while not stop.is_set():
        began = time.monotonic()
        try:
            result = exchange(host, port, [Send(NORMAL_REQUEST)],
                              timeout_s=settings.normal_timeout_s, linger_s=0)
            if result.final:
                status = result.final[0].status
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                latencies.append((time.monotonic() - began) * 1000)
            else:
                errors.append("no answer" if result.timed_out else result.connection)
        except OSError as exc:
            errors.append(type(exc).__name__)
        stop.wait(max(0.0, settings.normal_every_s - (time.monotonic() - began)))
    ordered = sorted(latencies)
    return {"requests": len(latencies) + len(errors), "answered": len(latencies),
            "statuses": statuses, "errors": len(errors),
            "error_kinds": sorted(set(errors)),
            "latency_p50_ms": round(statistics.median(ordered), 2) if ordered else None,
            "latency_max_ms": round(ordered[-1], 2) if ordered else None}


def baseline(host: str, port: int, settings: Settings) -> NormalClient:
    """The normal client alone for ``baseline_s``, before the attack: the latency to compare
    with."""
    stop = threading.Event()
    timer = threading.Timer(settings.baseline_s, stop.set)
    timer.start()
    try:
        return normal_client(host, port, settings, stop)
    finally:
        timer.cancel()


def summarise_connections(connections: list[SlowConnection]) -> SlowSummary:
    ways: dict[str, int] = {}
    for entry in connections:
        ways[entry["how"]] = ways.get(entry["how"], 0) + 1
    cut = [after for e in connections if (after := e["after_s"]) is not None
           and e["how"] not in (STILL_OPEN, "refused")]
    times: CutTimes | None = {"min": min(cut), "median": round(statistics.median(cut), 2),
                              "max": max(cut)} if cut else None
    return {"ended_by": ways, "cut": len(cut), "cut_after_s": times}


def typical_end(summary: SlowSummary) -> tuple[str, float | None]:
    """How most trickling connections ended, and the median time it took."""
    how = max(summary["ended_by"].items(), key=lambda kv: kv[1])[0]
    after = summary["cut_after_s"]["median"] if summary["cut_after_s"] and how != STILL_OPEN \
        else None
    return how, after


def prediction_holds(predicted: tuple[str, float | None], how: str,
                     after: float | None) -> bool:
    expected_how, expected_after = predicted
    if how != expected_how:
        return False
    if expected_after is None or after is None:
        return expected_after is None and after is None
    return abs(after - expected_after) <= CUT_TOLERANCE_S


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer for a (server, run) cell: ``"408"``, ``"closed"``, ``"open"``, or
    with a time, ``"closed 5"`` / ``"408 at 6 s"``."""
    # Drop the filler words "at" and a seconds unit ("5 s", "5s"), not every letter s: a blind
    # replace turned "closed 5" into "clo ed 5", which never matched.
    words = re.sub(r"\bat\b|(?<=\d)\s*s\b|\bs\b", " ", answer).split()
    if not words:
        return False
    how = {"open": STILL_OPEN, "408": CUT_408, "closed": CUT_CLOSED, "close": CUT_CLOSED,
           "reset": CUT_CLOSED}.get(words[0], words[0])
    after = None
    for word in words[1:]:
        try:
            after = float(word)
        except ValueError:
            continue
    if after is None:
        return how == cell["how"]
    return prediction_holds((how, after), cell["how"], cell["after_s"])


def under_attack(host: str, port: int, settings: Settings
                 ) -> tuple[NormalClient, list[SlowConnection]]:
    """The trickling connections, with the normal client requesting alongside: what the normal
    client saw, and how each trickling connection ended."""
    stop = threading.Event()
    # Filled in by the normal client's thread when it stops; it stays empty only if that
    # thread outlives its join (its requests have a timeout, so it never has).
    during = cast(NormalClient, {})
    client = threading.Thread(target=lambda: during.update(normal_client(host, port, settings,
                                                                         stop)), daemon=True)
    client.start()
    try:
        connections = trickle(host, port, settings)
    finally:
        stop.set()
        client.join(settings.normal_timeout_s + 5)
    return during, connections


def measure_run(host: str, port: int, settings: Settings) -> SlowMeasured:
    before = baseline(host, port, settings)
    during, connections = under_attack(host, port, settings)
    return {"normal_before": before, "normal_during": during, "connections": connections,
            "summary": summarise_connections(connections)}


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Settings,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> SlowClientsDocument:
    phase = on_phase or (lambda _text: None)
    results: dict[str, SlowServer] = {}
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        runs: dict[str, SlowRun] = {}
        for run_name, env in RUNS:
            phase(f"{server.title}, {run_name} timeouts: {settings.connections} trickling "
                  f"connections for {settings.window_s:g} s")
            with running(runtime, server, limits, env=env) as instance:
                measured = measure_run(*address(instance.url), settings)
                alive_after = runtime.is_running(instance)
            how, after = typical_end(measured["summary"])
            predicted = PREDICTED.get(server.name, {}).get(run_name)
            runs[run_name] = {
                "env": env, **measured, "server_still_running": alive_after,
                "how": how, "after_s": after,
                "predicted": None if predicted is None else
                {"how": predicted[0], "after_s": predicted[1]},
                "prediction_holds": None if predicted is None else
                prediction_holds(predicted, how, after),
            }
        results[server.name] = {**server_facts(server), "runs": runs,
                                "path": {"kind": instance.path_kind,
                                         "description": instance.path}}
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"connections": settings.connections, "interval_s": settings.interval_s,
                       "window_s": settings.window_s, "normal_every_s": settings.normal_every_s,
                       "normal_timeout_s": settings.normal_timeout_s,
                       "baseline_s": settings.baseline_s,
                       "defaults_env": DEFAULTS_ENV, "cut_tolerance_s": CUT_TOLERANCE_S,
                       "normal_client": "GET /health, a new connection each time"},
        "limits": limits.as_dict(),
        "servers": results,
    }


def _sheet(chosen: list[Server], settings: Settings) -> str:
    from labctl.labs import predictions

    return predictions.sheet(
        "labctl lab slow-clients", [s.name for s in chosen],
        [(run, f"{run} timeouts: how a trickling connection ends") for run, _ in RUNS],
        'An answer is how it ends: "408", "closed", "reset" or "open", optionally with '
        'the seconds it takes ("closed 5").')


PLUGIN = LabPlugin(
    name="slow-clients",
    run=run_lab,
    sheet=_sheet, judge=judge_learner,
    cells_of=lambda entry: {run: {"how": r["how"], "after_s": r["after_s"]}
                            for run, r in entry["runs"].items()})
