"""The behavioural checks an exercise names: start the learner's server, measure one behaviour,
and judge it against the exercise's thresholds.

Each check kind (docs/exercises.md) is one function here, built on what labctl already measures
with: the load generators (throughput), libcurl (latency, connection reuse), raw sockets
(responses, slow clients) and the shutdown lab's stop under load. A check returns an
``Outcome``: what it expected, what it measured, whether that passes, and the figures behind it.
"""

from __future__ import annotations

import re
import socket
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from labctl.errors import EnvironmentProblem, UsageProblem
from labctl.labs import overload, overload_settled, shutdown, slowclients
from labctl.learning.exercises import (
    CheckSpec,
    ConnectionReuseCheck,
    LatencyCheck,
    OverloadCheck,
    ResponseCheck,
    RollingRestartCheck,
    ShutdownDrainCheck,
    SlowClientsCheck,
    SpeedupCheck,
    ThroughputCheck,
    UpstreamConnectionsCheck,
)
from labctl.measure import loadgen
from labctl.measure.modes import KEEPALIVE
from labctl.measure.probe import Prober
from labctl.measure.rawhttp import MalformedResponse, address, build_request, parse_response
from labctl.runtime.base import Instance, Limits, ProgressCallback, Runtime
from labctl.runtime.cpus import client_cpuset
from labctl.runtime.lifecycle import running
from labctl.servers import Server

if TYPE_CHECKING:
    from labctl.results.documents import CheckOutcome


@dataclass
class Outcome:
    kind: str
    expected: str                  # for people: what passes
    measured: str                  # for people: what was seen
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> CheckOutcome:
        return {"kind": self.kind, "expected": self.expected, "measured": self.measured,
                "passed": self.passed, "figures": self.figures}


def prepare(runtime: Runtime, server: Server, check: CheckSpec,
            progress: ProgressCallback | None = None) -> Any:
    """Build the server, and the load generator when the check needs one; raises the build's
    error (with the compiler's output) when the learner's code does not build."""
    runtime.prepare(server, progress)
    if isinstance(check, (ThroughputCheck, SpeedupCheck)):
        return loadgen.prepare_generator(runtime, _load_options(check), progress)
    if isinstance(check, OverloadCheck):
        # Two generators: wrk for the capacity (closed loop), oha for the overload (open loop).
        return OverloadGenerators(
            loadgen.prepare_generator(runtime, loadgen.LoadOptions(), progress),
            loadgen.prepare_generator(runtime, loadgen.LoadOptions(rate=1.0), progress))
    return None


def run(runtime: Runtime, server: Server, check: CheckSpec, limits: Limits,
        generator: loadgen.Generator | None = None, starter: Server | None = None) -> Outcome:
    """Start the (already prepared) server, run the check against it, stop it. A speedup check
    measures the exercise's ``starter`` (prepared too) the same way first."""
    if isinstance(check, ShutdownDrainCheck):
        # This check stops the server itself, under load.
        return _shutdown_drain(runtime, server, check, limits)
    if isinstance(check, RollingRestartCheck):
        # So does this one, twice, with a second instance beside it.
        return _rolling_restart(runtime, server, check, limits)
    if isinstance(check, SpeedupCheck):
        if starter is None:
            raise ValueError("a speedup check needs the exercise's starter to compare with")
        return _speedup(runtime, server, starter, check, limits, generator)
    with running(runtime, server, limits) as instance:
        if instance.path_kind == "engine-bridge":
            raise EnvironmentProblem(
                "exercise checks run their client on this machine, and the Docker engine is on "
                "another one", "Check with --runtime local, or use a local engine (docker context use default)")
        measure = MEASURES[type(check)]
        return measure(runtime, instance, check, generator)


# --- the kinds ------------------------------------------------------------------------------------

def _load_options(check: ThroughputCheck | SpeedupCheck) -> loadgen.LoadOptions:
    return loadgen.LoadOptions(path=check.path, connections=check.connections,
                               duration_s=check.duration_s)


def _throughput(runtime: Runtime, instance: Instance, check: Any,
                generator: loadgen.Generator | None) -> Outcome:
    assert isinstance(check, ThroughputCheck)
    options = _load_options(check)
    result = loadgen.run_load(runtime, instance, options, client_cpuset(instance.limits),
                              generator=generator, warmup_s=0.5)
    rps, failed = result.requests_per_s, result.socket_errors + result.non_2xx
    return Outcome(
        "throughput",
        expected=f"≥ {check.min_rps:g} req/s on {check.path}, at most {check.max_errors} failed",
        measured=f"{rps:.0f} req/s, {failed} failed ({result.generator}, closed loop, "
                 f"{check.connections} kept-alive connections, {check.duration_s:g} s)",
        passed=rps >= check.min_rps and failed <= check.max_errors,
        figures={"requests_per_s": round(rps, 1), "failed": failed,
                 "latency_p50_ms": _ms(result.latency_us.get("p50")),
                 "latency_p99_ms": _ms(result.latency_us.get("p99")),
                 "load": result.as_dict()})


SPEEDUP_ROUNDS = 2


@dataclass
class _Turns:
    """One side's share of a speedup check's turns: requests, seconds, failures, last load."""
    requests: int = 0
    seconds: float = 0.0
    failed: int = 0
    last: loadgen.LoadResult | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _speedup_turns(runtime: Runtime, sides: dict[str, Server], check: SpeedupCheck,
                   limits: Limits, generator: loadgen.Generator | None) -> dict[str, _Turns]:
    """The throughput check's load on each side in turn, SPEEDUP_ROUNDS times (for two sides:
    starter, yours, starter, yours; half the duration each), so that a machine whose speed
    drifts during the check slows every side alike."""
    options = replace(_load_options(check), duration_s=check.duration_s / SPEEDUP_ROUNDS)
    turns = {side: _Turns() for side in sides}
    # One server at a time: the sides are copies of one server, whose containers and processes
    # share a name.
    for _ in range(SPEEDUP_ROUNDS):
        for side, server in sides.items():
            with running(runtime, server, limits) as instance:
                result = loadgen.run_load(runtime, instance, options,
                                          client_cpuset(instance.limits), generator=generator,
                                          warmup_s=0.5)
            turn = turns[side]
            turn.requests += result.requests
            turn.seconds += result.duration_s
            turn.failed += result.socket_errors + result.non_2xx
            turn.last = result
    return turns


def _speedup_outcome(check: SpeedupCheck, starter: _Turns, yours: _Turns) -> Outcome:
    assert starter.last is not None and yours.last is not None   # SPEEDUP_ROUNDS >= 1
    base, mine, failed = starter.rate, yours.rate, yours.failed
    how = (f"{yours.last.generator}, closed loop, {check.connections} kept-alive connections, "
           f"{SPEEDUP_ROUNDS} turns of {check.duration_s / SPEEDUP_ROUNDS:g} s each")
    if base <= 0:   # nothing to divide by: say so rather than print a ratio of zero
        return Outcome("speedup", expected=f"≥ {check.min_speedup:g}× the starter's req/s on "
                       f"{check.path}", measured=f"the starter completed no request ({how}), so "
                       "there is nothing to compare with (is the machine busy?)", passed=False,
                       figures={"requests_per_s": round(mine, 1), "starter_requests_per_s": 0.0,
                                "failed": failed})
    ratio = mine / base
    return Outcome(
        "speedup",
        expected=f"≥ {check.min_speedup:g}× the starter's req/s on {check.path}, at most "
                 f"{check.max_errors} failed",
        measured=f"{ratio:.1f}× ({mine:.1f} req/s against the starter's {base:.1f}), {failed} "
                 f"failed ({how})",
        passed=ratio >= check.min_speedup and failed <= check.max_errors,
        figures={"speedup": round(ratio, 2), "requests_per_s": round(mine, 1),
                 "starter_requests_per_s": round(base, 1), "failed": failed,
                 "load": yours.last.as_dict(), "starter_load": starter.last.as_dict()})


def _speedup(runtime: Runtime, server: Server, starter: Server, check: SpeedupCheck,
             limits: Limits, generator: loadgen.Generator | None) -> Outcome:
    turns = _speedup_turns(runtime, {"starter": starter, "yours": server}, check, limits,
                           generator)
    return _speedup_outcome(check, turns["starter"], turns["yours"])


def speedup_starter_and_solution(runtime: Runtime, starter: Server, solution: Server,
                                 check: SpeedupCheck, limits: Limits,
                                 generator: loadgen.Generator | None) -> tuple[Outcome, Outcome]:
    """An author's check of a speedup exercise in one series: the starter as the reference,
    the starter again as "yours", and the solution, in turns. Each side is the check a learner
    gets (its own turns against the reference's, interleaved), and the reference's turns are
    shared: six turns instead of the eight of two separate checks."""
    turns = _speedup_turns(runtime, {"starter": starter, "starter again": starter,
                                     "solution": solution}, check, limits, generator)
    return (_speedup_outcome(check, turns["starter"], turns["starter again"]),
            _speedup_outcome(check, turns["starter"], turns["solution"]))


def _latency(runtime: Runtime, instance: Instance, check: Any, generator: Any) -> Outcome:
    assert isinstance(check, LatencyCheck)
    with Prober(instance.url, KEEPALIVE) as prober:
        prober.request(check.path)   # opens the connection; not counted
        samples = [prober.request(check.path) for _ in range(check.samples)]
    statuses = sorted({s.status for s in samples})
    median_ms = statistics.median(s.total_us for s in samples) / 1000
    ok = statuses == [200]
    return Outcome(
        "latency",
        expected=f"median ≤ {check.max_ms:g} ms on {check.path}, every answer 200",
        measured=f"median {median_ms:.1f} ms over {check.samples} requests "
                 f"(kept-alive connection, libcurl time_total), {_statuses(statuses)}",
        passed=ok and median_ms <= check.max_ms,
        figures={"median_ms": round(median_ms, 2),
                 "max_ms": round(max(s.total_us for s in samples) / 1000, 2),
                 "statuses": statuses, "samples": check.samples})


def one_request(url: str, method: str, path: str, timeout_s: float = 5.0) -> tuple[Any, bytes]:
    """Send one request on a new connection that the client closes after it, and read to the
    end: the parsed head, and every byte the server sent after the head (for HEAD: none)."""
    host, port = address(url)
    request = build_request(f"{method} {path} HTTP/1.1", ["Host: labctl.test", "Connection: close"])
    received = b""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        raise MalformedResponse("no complete response head")
    parsed = parse_response(received[:head_end + 4], head=True, eof=True)
    if parsed is None:
        raise MalformedResponse("no response")
    return parsed[0], received[head_end + 4:]


def _response(runtime: Runtime, instance: Instance, check: Any, generator: Any) -> Outcome:
    assert isinstance(check, ResponseCheck)
    try:
        response, after_head = one_request(instance.url, check.method, check.path)
    except (OSError, MalformedResponse) as exc:
        return Outcome("response", _expected_response(check),
                       f"no valid response ({exc})", False, {})
    names = {name.lower() for name, _ in response.headers}
    missing = [h for h in check.headers if h.lower() not in names]
    problems = []
    if response.status != check.status:
        problems.append(f"status {response.status}")
    if missing:
        problems.append("missing " + ", ".join(missing))
    figures: dict[str, Any] = {"status": response.status, "headers": sorted(names),
                               "body_bytes": len(after_head)}
    if check.same_headers_as_get:
        get_response, _ = one_request(instance.url, "GET", check.path)
        get_names = {name.lower() for name, _ in get_response.headers}
        figures["get_headers"] = sorted(get_names)
        if names != get_names:
            differ = sorted(names ^ get_names)
            problems.append("headers differ from GET's: " + ", ".join(differ))
    if check.empty_body and after_head:
        problems.append(f"{len(after_head)} body bytes")
    measured = f"{check.method} {check.path}: {response.status} {response.reason}"
    measured += "; " + "; ".join(problems) if problems else ", as expected"
    return Outcome("response", _expected_response(check), measured, not problems, figures)


def _expected_response(check: ResponseCheck) -> str:
    parts = [f"{check.method} {check.path} answers {check.status}"]
    if check.headers:
        parts.append("with " + ", ".join(check.headers))
    if check.same_headers_as_get:
        parts.append("the same header names as GET")
    if check.empty_body:
        parts.append("no body")
    return ", ".join(parts)


def _slow_clients(runtime: Runtime, instance: Instance, check: Any, generator: Any) -> Outcome:
    assert isinstance(check, SlowClientsCheck)
    settings = slowclients.Settings(connections=check.connections, window_s=check.window_s,
                                    normal_timeout_s=max(2.0, check.normal_max_ms / 1000 * 2))
    normal, connections = slowclients.under_attack(*address(instance.url), settings)
    cut_in_time = [c for c in connections if c["after_s"] is not None
                   and c["how"] not in (slowclients.STILL_OPEN, "refused")
                   and c["after_s"] <= check.cut_within_s]
    slowest = normal.get("latency_max_ms")
    normal_ok = (normal.get("errors", 1) == 0 and slowest is not None
                 and slowest <= check.normal_max_ms)
    summary = slowclients.summarise_connections(connections)
    ended = ", ".join(f"{count} {how}" for how, count in sorted(summary["ended_by"].items()))
    return Outcome(
        "slow-clients",
        expected=f"all {check.connections} trickling connections cut within "
                 f"{check.cut_within_s:g} s; every normal GET {instance.server.health_path} "
                 f"answered within {check.normal_max_ms:g} ms",
        measured=f"{len(cut_in_time)} of {len(connections)} cut in time ({ended}, watched "
                 f"{check.window_s:g} s); normal client: {normal.get('answered', 0)} answered, "
                 f"{normal.get('errors', 0)} failed, slowest "
                 + (f"{slowest:.0f} ms" if slowest is not None else "none answered"),
        passed=len(cut_in_time) == len(connections) and normal_ok,
        figures={"connections": summary, "normal_client": normal})


def _shutdown_drain(runtime: Runtime, server: Server, check: ShutdownDrainCheck,
                    limits: Limits) -> Outcome:
    # The long requests keep their connections after the answer, as a browser or a proxy's pool
    # does: a server must close those itself, not wait out its keep-alive timeout.
    settings = shutdown.Settings(long_kept_alive=True)
    measured = shutdown.measure_stop(runtime, server, limits, {}, settings)
    completed, total = measured["in_flight_completed"], len(measured["in_flight"])
    stop_s = measured["stop_seconds"]
    return Outcome(
        "shutdown-drain",
        expected=f"all {total} in-flight requests answered 200, and the server gone within "
                 f"{check.max_stop_s:g} s of SIGTERM",
        measured=f"{completed} of {total} in-flight requests answered; stopped after "
                 f"{stop_s:.1f} s ({runtime.name} runtime; SIGKILL comes at "
                 f"{settings.grace_s:g} s)",
        passed=completed == total and stop_s <= check.max_stop_s,
        figures=dict(measured))


def _connection_reuse(runtime: Runtime, instance: Instance, check: Any, generator: Any) -> Outcome:
    assert isinstance(check, ConnectionReuseCheck)
    opened = 0
    statuses: set[int] = set()
    with Prober(instance.url, KEEPALIVE) as prober:
        for _ in range(check.requests):
            sample = prober.request(check.path)
            statuses.add(sample.status)
            opened += prober.new_connections()
    return Outcome(
        "connection-reuse",
        expected=f"at most {check.max_connections} TCP connections for {check.requests} "
                 f"sequential GET {check.path}",
        measured=f"{opened} connection{'' if opened == 1 else 's'} opened (libcurl, one keep-alive "
                 f"handle), {_statuses(sorted(statuses))}",
        passed=opened <= check.max_connections and statuses == {200},
        figures={"connections_opened": opened, "requests": check.requests,
                 "statuses": sorted(statuses)})


@dataclass(frozen=True)
class OverloadGenerators:
    wrk: loadgen.Generator
    oha: loadgen.Generator


def _closed_loop_capacity(runtime: Runtime, instance: Instance, path: str, check: Any,
                          generators: Any) -> tuple[loadgen.LoadResult, float]:
    closed = loadgen.run_load(
        runtime, instance, loadgen.LoadOptions(path=path, connections=overload.CAPACITY_CONNECTIONS,
                                               duration_s=check.capacity_s, timeout_s=2.0),
        client_cpuset(instance.limits), generator=generators.wrk if generators else None,
        warmup_s=1.0)
    overload.wait_drained(instance)
    capacity = (closed.requests - closed.non_2xx) / closed.duration_s if closed.duration_s else 0.0
    return closed, capacity


def _calibrated_capacity(runtime: Runtime, instance: Instance, check: Any,
                         generators: Any) -> tuple[str, loadgen.LoadResult, float]:
    """The path the step uses and the server's capacity on it, found as the lab finds them: a
    cost outside the band the generator can drive to twice over is scaled and measured again,
    at most CALIBRATION_ROUNDS times. On /report the first cost is the check's ``items``."""
    calibrating = check.path == overload.PATH
    items = check.items
    path = overload.report_path(items) if calibrating else check.path
    closed, capacity = _closed_loop_capacity(runtime, instance, path, check, generators)
    for _ in range(overload.CALIBRATION_ROUNDS if calibrating else 0):
        scaled = overload.calibrated_items(capacity, items)
        if scaled == items:
            break
        items, path = scaled, overload.report_path(scaled)
        closed, capacity = _closed_loop_capacity(runtime, instance, path, check, generators)
    return path, closed, capacity


def _overload(runtime: Runtime, instance: Instance, check: Any, generators: Any) -> Outcome:
    assert isinstance(check, OverloadCheck)
    cpus = client_cpuset(instance.limits)
    path, closed, capacity = _calibrated_capacity(runtime, instance, check, generators)
    refused = closed.non_2xx + closed.socket_errors
    rate = round(capacity * check.times_capacity, 1)
    expected = (f"at {check.times_capacity:g}× its capacity on {path} (open loop, client "
                f"timeout {check.timeout_s:g} s): goodput ≥ {check.min_goodput:.0%} of capacity "
                f"and p99 of the 2xx answers ≤ {check.max_p99_ms:g} ms")
    if capacity <= 0 or refused > 0.1 * max(closed.requests, 1):
        return Outcome("overload", expected,
                       f"no capacity to overload: {capacity:.0f} 2xx/s with {refused} of "
                       f"{closed.requests} refused or failed under a closed loop of "
                       f"{overload.CAPACITY_CONNECTIONS} connections (a server must not shed "
                       "work it can do)", False, {"capacity": closed.as_dict()})
    options = loadgen.LoadOptions(path=path, rate=rate, duration_s=check.duration_s,
                                  timeout_s=check.timeout_s,
                                  connections=overload.connections_for(rate, check.timeout_s))
    oha = generators.oha if generators else loadgen.prepare_generator(runtime, options)
    load: Any = {"options": options.as_dict(), "per_request": True}
    if check.settle_s:
        run_answers = getattr(oha, "run_answers", None)   # oha's, in a container or not
        if run_answers is None:
            raise EnvironmentProblem(f"this check needs oha's per-request output, and {oha.name} "
                                     "was chosen instead", "Run labctl doctor to see why")
        step = overload_settled.settled_step_figures(
            run_answers(instance, options, cpus), rate=rate, duration_s=check.duration_s,
            settle_s=check.settle_s, timeout_s=check.timeout_s, capacity_rps=capacity)
    else:
        load = loadgen.run_load(runtime, instance, options, cpus, generator=oha).as_dict()
        step = overload.step_figures(load, capacity)
    goodput_share = step["goodput_fraction"] or 0.0
    p99 = step["p99_ms"]
    passed = (goodput_share >= check.min_goodput and p99 is not None
              and p99 <= check.max_p99_ms and not step["generator_limited"])
    measured = (f"capacity {capacity:,.0f} req/s (closed loop, {overload.CAPACITY_CONNECTIONS} "
                f"connections); at {rate:,.0f} req/s: goodput {step['goodput_rps']:,.0f} req/s "
                f"({goodput_share:.0%}), p99 of 2xx "
                + (f"{p99:,.0f} ms" if p99 is not None else "none answered")
                + f", {step['shed_503']:,} 503, {step['timeouts']:,} timeouts")
    if check.settle_s:
        start, end = step["window_s"]
        measured += (f" (requests due {start:g} to {end:g} s into the {check.duration_s:g} s "
                     f"step; timeouts: no answer within {check.timeout_s:g} s)")
    if step["generator_limited"]:
        measured += (f"; oha sent only {step['sent']:,} of {step['scheduled']:,}: the generator "
                     "was the limit, not judged")
    return Outcome("overload", expected, measured, passed,
                   {"capacity_rps": round(capacity, 1), "rate": rate, **{
                       k: v for k, v in step.items()}, "capacity": closed.as_dict(),
                    "load": load})


# -- nginx in front (lesson 009): the workspace holds an nginx configuration --------------------

SERVERS_PLACEHOLDER = "@SERVERS@"
# The placeholder counts only on a line of its own (a comment may mention it).
_SERVERS_LINE = re.compile(r"^([ \t]*)@SERVERS@[ \t]*$", re.MULTILINE)


def _proxy_config(server: Server, name: str) -> str:
    """The learner's nginx configuration, which names its upstream servers as one line
    ``@SERVERS@`` (labctl fills in the addresses) and listens on ``@PORT@``."""
    path = server.source_dir / name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"cannot read {path}: {exc}", f"Put the exercise's {name} back: "
                           "labctl exercise reset") from None
    if not _SERVERS_LINE.search(text):
        raise UsageProblem(f"{path} has no {SERVERS_PLACEHOLDER} line for labctl to put the "
                           "servers' addresses in", "Keep the line @SERVERS@ in the upstream "
                           "block")
    return text


def _fill_servers(text: str, addresses: list[str]) -> str:
    def lines(match: re.Match) -> str:
        return "\n".join(f"{match.group(1)}server {address};" for address in addresses)

    return _SERVERS_LINE.sub(lines, text, count=1)


def _upstream_connections(runtime: Runtime, instance: Instance, check: Any,
                          generator: Any) -> Outcome:
    assert isinstance(check, UpstreamConnectionsCheck)
    from labctl.labs import nginx_proxy, proxy

    text = _fill_servers(_proxy_config(instance.server, check.config),
                         [nginx_proxy.upstream_address(runtime, instance)])
    facts = nginx_proxy.prepare(runtime)
    front = nginx_proxy.start(runtime, text, instance.limits, facts)
    try:
        counted = proxy.count_upstream(runtime, instance, front.url, check.requests)
    finally:
        front.stop()
    return Outcome(
        "upstream-connections",
        expected=f"at most {check.max_per_1000:g} upstream connections per 1,000 GET "
                 f"{instance.server.health_path} through nginx, every answer 200",
        measured=f"{counted['upstream_connections']} connections accepted by the server for "
                 f"{counted['requests']} requests through nginx ({counted['per_1000']:g} per "
                 f"1,000; {facts.version}; counted from {counted['counted_by']})"
                 + (f"; {counted['not_200']} answers not 200" if counted["not_200"] else ""),
        passed=counted["per_1000"] <= check.max_per_1000 and counted["not_200"] == 0,
        figures={**counted, "nginx": facts.as_dict()})


def _rolling_restart(runtime: Runtime, server: Server, check: RollingRestartCheck,
                     limits: Limits) -> Outcome:
    from labctl.labs import nginx_proxy, proxy

    text = _proxy_config(server, check.config)
    facts = nginx_proxy.prepare(runtime)
    with running(runtime, server, limits) as first:
        result = proxy.rolling_restart(runtime, server, first, limits, facts, proxy.Settings(),
                                       lambda addresses: _fill_servers(text, addresses))
    failed = result["failed"]
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result["outcomes"].items()))
    return Outcome(
        "rolling-restart",
        expected=f"at most {check.max_failed} failed requests while two instances behind "
                 "nginx are restarted one after the other (each with its graceful stop)",
        measured=f"{failed} of {result['requests']} requests failed ({kinds}); {facts.version}",
        passed=failed <= check.max_failed,
        figures={**result, "nginx": facts.as_dict()})


MEASURES: dict[type, Callable[[Runtime, Instance, Any, Any], Outcome]] = {
    ThroughputCheck: _throughput,
    LatencyCheck: _latency,
    ResponseCheck: _response,
    SlowClientsCheck: _slow_clients,
    ConnectionReuseCheck: _connection_reuse,
    OverloadCheck: _overload,
    UpstreamConnectionsCheck: _upstream_connections,
}


def _statuses(statuses: list[int]) -> str:
    if statuses == [200]:
        return "every answer 200"
    return "answers " + ", ".join(str(status) for status in statuses)


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 2)
