"""The shutdown lab: what clients see while a server is stopped, with its graceful handler and
without it.

Before the stop, the lab opens idle kept-alive connections, starts a few long requests (a 2 s
wait in the handler), and runs a steady client sending GET /health on fresh connections. Then it
stops the server as Docker does (``docker stop``: SIGTERM, then SIGKILL after 10 s; on the local
runtime SIGTERM to the process group, the same 10 s) and records what every client got: long
requests completed or cut, idle connections closed (when, and how), steady requests answered,
refused or reset, and how long the stop took.

Each server runs twice: as shipped (it handles SIGTERM and drains) and with its graceful handler
disabled (``GRACEFUL_SHUTDOWN=off``, read by each server). In a container the server is PID 1,
which the kernel spares from any signal it installed no handler for: that is what the second
run shows.
"""

from __future__ import annotations

import datetime as dt
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from labctl.labs import LabPlugin
from labctl.measure.rawhttp import (
    CLOSED,
    RESET,
    Send,
    address,
    build_request,
    exchange,
    parse_responses,
)
from labctl.results import hostinfo
from labctl.results.documents import (
    InFlight,
    ShutdownDocument,
    StopMeasured,
    StopPrediction,
    StopRun,
    StopServer,
    server_facts,
)
from labctl.runtime.base import Limits, Runtime
from labctl.runtime.lifecycle import wait_healthy
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.shutdown/1"
OFF_ENV = "GRACEFUL_SHUTDOWN"
RUNS: tuple[tuple[str, dict[str, str]], ...] = (("graceful", {}),
                                                ("no-handler", {OFF_ENV: "off"}))
DOCKER_GRACE_S = 10.0   # docker stop's default before SIGKILL
LONG_MS = 2000          # the longest wait the servers allow (?delay_ms is capped there)
STOP_AFTER_S = 0.5      # the stop comes this long after the long requests were sent
STOP_TOLERANCE_S = 1.5

HEALTH = build_request("GET /health HTTP/1.1", ["Host: labctl.test"])
FRESH_HEALTH = build_request("GET /health HTTP/1.1", ["Host: labctl.test", "Connection: close"])
LONG = build_request(f"GET /users/42?delay_ms={LONG_MS}&mode=async HTTP/1.1",
                     ["Host: labctl.test", "Connection: close"])
# The same, from a client that keeps its connection after the answer (a browser, a proxy's pool):
# the server must then close that connection itself to finish stopping.
LONG_KEPT = build_request(f"GET /users/42?delay_ms={LONG_MS}&mode=async HTTP/1.1",
                          ["Host: labctl.test"])


@dataclass(frozen=True)
class Settings:
    idle: int = 5              # kept-alive connections that sit idle
    long: int = 3              # requests in flight when the stop comes
    steady_every_s: float = 0.05
    grace_s: float = DOCKER_GRACE_S
    # The long requests keep their connections after the answer, until the server closes them
    # (the exercises' drain check: a server that waits for its keep-alive timeout stops late).
    long_kept_alive: bool = False


# `--quick`: the grace before SIGKILL cut to 4 s. Still longer than the 1.5 s the requests in
# flight have left when the stop comes, so every verdict is the one the default grace gives;
# only a PID 1 without a handler stops sooner (at 4 s instead of 10 s), and the lab says so.
QUICK = Settings(grace_s=4.0)


# The lesson's prediction per server and run, as (stop seconds, what the long requests get).
# The no-handler run differs by runtime: only in a container is the server PID 1.
def predicted(server: str, run: str, runtime: str,
              grace_s: float = DOCKER_GRACE_S) -> StopPrediction:
    in_flight_left = LONG_MS / 1000 - STOP_AFTER_S
    if run == "graceful":
        return {"stop_s": in_flight_left, "in_flight": "completed"}
    if server == "go" or runtime != "docker":
        # Go's runtime exits on SIGTERM even as PID 1; a process that is not PID 1 dies at once.
        return {"stop_s": 0.0, "in_flight": "cut"}
    # PID 1 without a handler: SIGTERM is ignored, the requests finish, SIGKILL comes at the
    # end of the grace (docker stop's 10 s by default).
    return {"stop_s": grace_s, "in_flight": "completed"}


def _outcome(result) -> str:
    if result.final:
        return str(result.final[0].status)
    if result.timed_out:
        return "no answer"
    return "empty reply" if result.connection == CLOSED else "reset"


def _long_request(host: str, port: int, sent_at: list, results: list, index: int,
                  kept_alive: bool = False) -> None:
    sent_at[index] = time.monotonic()
    try:
        # Kept alive: after the answer, hold the connection until the server closes it.
        result = exchange(host, port, [Send(LONG_KEPT if kept_alive else LONG)],
                          timeout_s=DOCKER_GRACE_S + 5,
                          linger_s=DOCKER_GRACE_S + 2 if kept_alive else 0)
        results[index] = {"outcome": _outcome(result), "ended_at": time.monotonic()}
    except OSError as exc:
        results[index] = {"outcome": _error_kind(exc), "ended_at": time.monotonic()}


def _error_kind(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "unreachable"


def open_idle(host: str, port: int, count: int) -> list[socket.socket]:
    """Kept-alive connections, each after one answered request, now idle."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=3)
        sock.sendall(HEALTH)
        data = b""
        while not parse_responses(data)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        socks.append(sock)
    return socks


def watch_idle(socks: list[socket.socket], stop: threading.Event, out: list) -> None:
    """Record when and how the server ends each idle connection (FIN or reset)."""
    selector = selectors.DefaultSelector()
    for index, sock in enumerate(socks):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
        out.append({"index": index, "how": "open", "at": None})
    while selector.get_map() and not stop.is_set():
        for key, _ in selector.select(0.02):
            entry = out[key.data]
            try:
                data = cast(socket.socket, key.fileobj).recv(65536)
                how = CLOSED if not data else "data"
            except OSError:
                how = RESET
            entry["how"], entry["at"] = how, time.monotonic()
            selector.unregister(key.fileobj)
    selector.close()


def steady(host: str, port: int, every_s: float, stop: threading.Event, out: list,
           timeout_s: float = 1.0) -> None:
    """GET /health on a fresh connection every ``every_s``: (sent at, outcome)."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            result = exchange(host, port, [Send(FRESH_HEALTH)], timeout_s=timeout_s, linger_s=0)
            outcome = _outcome(result)
        except OSError as exc:
            outcome = _error_kind(exc)
        out.append((began, outcome))
        stop.wait(max(0.0, every_s - (time.monotonic() - began)))


def measure_stop(runtime: Runtime, server: Server, limits: Limits, env: dict,
                 settings: Settings) -> StopMeasured:
    instance = runtime.start(server, limits, env=env)
    stopped = False
    try:
        wait_healthy(runtime, instance)
        host, port = address(instance.url)
        idle_socks = open_idle(host, port, settings.idle)
        done = threading.Event()
        idle_out: list = []
        steady_out: list = []
        long_sent: list = [None] * settings.long
        long_out: list = [None] * settings.long
        threads = [threading.Thread(target=watch_idle, args=(idle_socks, done, idle_out)),
                   threading.Thread(target=steady, args=(host, port, settings.steady_every_s,
                                                         done, steady_out))]
        threads += [threading.Thread(target=_long_request, args=(host, port, long_sent,
                                                                 long_out, i,
                                                                 settings.long_kept_alive))
                    for i in range(settings.long)]
        for thread in threads:
            thread.daemon = True
            thread.start()
        time.sleep(STOP_AFTER_S)
        sigterm_at = time.monotonic()
        runtime.stop(instance, grace_s=settings.grace_s)
        stopped = True
        stop_s = time.monotonic() - sigterm_at
        done.set()
        for thread in threads:
            thread.join(DOCKER_GRACE_S + 6)
        for sock in idle_socks:
            sock.close()
    finally:
        if not stopped:
            runtime.stop(instance)
    return summarise(sigterm_at, stop_s, idle_out, steady_out, long_sent, long_out)


def summarise(sigterm_at: float, stop_s: float, idle_out: list, steady_out: list,
              long_sent: list, long_out: list) -> StopMeasured:
    def rel(t: float | None) -> float | None:
        return None if t is None else round(t - sigterm_at, 3)

    before = [o for t, o in steady_out if t < sigterm_at]
    after = [(t, o) for t, o in steady_out if t >= sigterm_at]
    counts: dict[str, int] = {}
    for _, outcome in after:
        counts[outcome] = counts.get(outcome, 0) + 1
    answered_after = [t for t, o in after if o == "200"]
    long: list[InFlight] = [{"outcome": (r or {}).get("outcome", "no answer"),
             "ended_after_sigterm_s": rel((r or {}).get("ended_at"))} for r in long_out]
    completed = sum(1 for r in long if r["outcome"] == "200")
    return {
        "stop_seconds": round(stop_s, 3),
        "in_flight": long,
        "in_flight_completed": completed,
        "in_flight_verdict": "completed" if completed == len(long) else
                             "cut" if completed == 0 else "some cut",
        "idle": [{"index": e["index"], "how": e["how"], "after_sigterm_s": rel(e["at"])}
                 for e in idle_out],
        "steady": {"before_stop": {"requests": len(before),
                                   "answered": sum(1 for o in before if o == "200")},
                   "after_sigterm": counts,
                   "last_answered_after_sigterm_s": rel(max(answered_after))
                   if answered_after else None},
    }


def prediction_holds(prediction: StopPrediction, measured: StopMeasured) -> bool:
    return (abs(measured["stop_seconds"] - prediction["stop_s"]) <= STOP_TOLERANCE_S
            and measured["in_flight_verdict"] == prediction["in_flight"])


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer for a (server, run) cell: "completed" or "cut", optionally with the
    stop's seconds ("cut 0", "completed 10")."""
    words = answer.replace("s", " ").split() if answer else []
    if not words:
        return False
    verdict = {"complete": "completed", "finished": "completed"}.get(words[0], words[0])
    if verdict != cell["in_flight_verdict"]:
        return False
    for word in words[1:]:
        try:
            return abs(float(word) - cell["stop_seconds"]) <= STOP_TOLERANCE_S
        except ValueError:
            continue
    return True


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Settings,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> ShutdownDocument:
    phase = on_phase or (lambda _text: None)
    results: dict[str, StopServer] = {}
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        runs: dict[str, StopRun] = {}
        for run_name, env in RUNS:
            phase(f"{server.title}: {run_name} stop with {settings.long} requests in flight")
            measured = measure_stop(runtime, server, limits, env, settings)
            prediction = predicted(server.name, run_name, runtime.name, settings.grace_s)
            runs[run_name] = {"env": env, **measured, "predicted": prediction,
                              "prediction_holds": prediction_holds(prediction, measured)}
        results[server.name] = {**server_facts(server), "runs": runs}
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"idle_connections": settings.idle, "in_flight": settings.long,
                       "in_flight_wait_ms": LONG_MS, "stop_after_s": STOP_AFTER_S,
                       "grace_s": settings.grace_s, "steady_every_s": settings.steady_every_s,
                       "off_env": OFF_ENV, "stop_tolerance_s": STOP_TOLERANCE_S,
                       "stop": runtime.stop_description},
        "limits": limits.as_dict(),
        "servers": results,
    }


def _sheet(chosen: list[Server], settings: Settings) -> str:
    from labctl.labs import predictions

    return predictions.sheet(
        "labctl lab shutdown", [s.name for s in chosen],
        [(run, f"{run}: the requests in flight, and the seconds the stop takes")
         for run, _ in RUNS],
        'An answer is "completed" or "cut", optionally with the stop\'s seconds '
        f'("completed {settings.grace_s:g}": the grace before SIGKILL is {settings.grace_s:g} s).')


PLUGIN = LabPlugin(
    name="shutdown",
    run=run_lab,
    sheet=_sheet, judge=judge_learner, cells_of=lambda entry: entry["runs"])
