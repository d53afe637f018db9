"""The proxy lab: nginx in front of each server, measured in four parts.

1. The hop's cost: GET /health direct and through nginx, on fresh and kept-alive client
   connections, with nginx's default upstream settings (HTTP/1.0, ``Connection: close``, no idle
   upstream connections) and with upstream keep-alive; and the TCP connections the server
   accepted per 1,000 requests, counted by the kernel (labs/upstream_count.py).
2. Odd requests through the proxy: the edge-cases lab's rows sent to nginx. A stand-in upstream
   records what nginx forwards (once: it does not depend on the server), and each row is sent
   to the server directly and through nginx: which rows nginx refuses itself, which it rewrites,
   which pass unchanged, and where nginx and the server disagree about the same bytes.
3. Slowloris through the proxy: the slow-clients lab's attack on nginx, with nginx's defaults and
   a tightened ``client_header_timeout``; how the trickling connections end, how many
   connections the server accepted meanwhile, and what a normal client saw.
4. Restarts: a steady client through nginx while the server is stopped (its graceful stop,
   lesson 007) and started again; then two instances and a rolling restart with
   ``proxy_next_upstream``. After each start labctl points nginx at the new instance and reloads
   it (gracefully), as service discovery would.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labctl.labs import LabPlugin, edgecases, nginx_config, nginx_proxy, slowclients
from labctl.labs.nginx_config import ProxySettings
from labctl.labs.shutdown import steady
from labctl.labs.upstream_count import AcceptCounter
from labctl.labs.upstream_recorder import Recorder
from labctl.measure import stats
from labctl.measure.probe import FRESH, KEEPALIVE, Prober
from labctl.measure.rawhttp import address
from labctl.results import hostinfo
from labctl.results.documents import (
    ForwardedRow,
    HopPart,
    HopSeries,
    OddPart,
    OddRow,
    PathPart,
    ProxyDocument,
    ProxyParts,
    ProxyServer,
    ProxySlowRun,
    RestartMeasured,
    RestartRun,
    RestartTiming,
    SteadyCounts,
    server_facts,
)
from labctl.runtime.base import Instance, Limits, Runtime
from labctl.runtime.lifecycle import running, wait_healthy
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.proxy/1"
PARTS = ("hop", "odd", "slowloris", "restarts")
CLIENT_MODES = ((FRESH, "fresh"), (KEEPALIVE, "kept-alive"))
HOP_CASES = ("direct", "nginx defaults", "upstream keep-alive")
# A stopped container's address answers nothing at all once the container is gone (no refusal,
# no ARP reply): a short connect timeout turns that into a quick retry on the other instance.
ROLLING = ProxySettings("two instances, proxy_next_upstream", keepalive=16, http11=True,
                        clear_connection=True, next_upstream="error timeout",
                        connect_timeout_ms=250)
# A response status of nginx's own, not the server's, for a request it refused.
REFUSED_BY = {"400", "408", "411", "413", "414", "431", "494", "501", "505"}
STEADY_TIMEOUT_NOTE = "GET /health on a new connection every 20 ms from 2 threads, 3 s timeout"


@dataclass(frozen=True)
class Settings:
    requests: int = 1000              # per latency series; upstream connections per series
    slow_connections: int = 20
    slow_window_s: float = 10.0
    slow_baseline_s: float = 2.0      # the normal client alone through nginx, before the attack
    tightened_timeout_s: int = 3
    steady_every_s: float = 0.02
    steady_threads: int = 2
    # Long enough that a busy machine's scheduling delays are not counted as lost requests,
    # far shorter than nginx's 60 s default connect timeout, which a lost request would wait.
    steady_timeout_s: float = 3.0
    settle_s: float = 1.0             # steady load before the first stop and after the last
    grace_s: float = 10.0             # the graceful stop's limit (docker stop's default)
    parts: tuple[str, ...] = PARTS


QUICK = Settings(requests=100, slow_connections=5, slow_window_s=3.0, slow_baseline_s=1.0,
                 tightened_timeout_s=1, settle_s=0.5)


# -- what the lesson predicts ----------------------------------------------------------------


def predicted(tightened_s: int) -> dict[str, dict[str, Any]]:
    """The lesson's predictions, per row of the predictions sheet."""
    return {
        "hop-defaults": {"per_1000": 1000, "text": "1000 upstream connections per 1,000"},
        "hop-keepalive": {"per_1000": 10, "text": "at most 10 per 1,000"},
        "slow-defaults": {"how": slowclients.STILL_OPEN, "after_s": None,
                          "text": "open at the end (client_header_timeout 60s)"},
        "slow-tightened": {"how": slowclients.CUT_CLOSED, "after_s": float(tightened_s),
                           "text": f"closed after about {tightened_s} s, no answer"},
        "slow-server": {"accepted_from_attack": 0, "text": "the server accepts none of it"},
        "restart-one": {"failed": "some", "text": "some requests fail (502)"},
        "restart-rolling": {"failed": 0, "text": "none fail"},
    }


SHEET_ROWS = (
    ("hop-defaults", "upstream connections per 1,000 requests, nginx defaults"),
    ("hop-keepalive", "upstream connections per 1,000 requests, upstream keep-alive"),
    ("odd-refused", "how many of the 22 odd rows nginx refuses itself"),
    ("slow-defaults", "slowloris, nginx defaults: how a trickling connection ends"),
    ("slow-tightened", "slowloris, tightened client_header_timeout: how it ends"),
    ("slow-server", "connections the server accepts from the attack"),
    ("restart-one", "failed requests while the only upstream restarts"),
    ("restart-rolling", "failed requests in the rolling restart (two instances)"),
)
SHEET_EXAMPLE = ('Answers: a number (1000), "none"/"some", or how a connection ends ("open", '
                 '"closed 3").')


def _near(answer: float, measured: float) -> bool:
    return abs(answer - measured) <= max(10.0, 0.1 * measured)


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer for one row, against the measured cell ``{"kind": ..., ...}``."""
    kind = cell["kind"]
    if kind == "ends":
        return slowclients.judge_learner(answer, cell)
    words = answer.split()
    if not words:
        return False
    if words[0] in ("none", "zero"):
        return cell["value"] == 0
    if words[0] in ("some", "any"):
        return cell["value"] > 0
    try:
        number = float(words[0])
    except ValueError:
        return False
    return _near(number, cell["value"]) if kind == "count" else number == cell["value"]


def cells_of(entry: dict) -> dict[str, dict]:
    """One server's measured cells, row → cell, for scoring a learner's predictions."""
    cells: dict[str, dict] = {}
    hop = entry.get("hop")
    if hop:
        cells["hop-defaults"] = {"kind": "count", "value": hop["upstream_per_1000"]
                                 ["nginx defaults"]["fresh"]}
        cells["hop-keepalive"] = {"kind": "count", "value": hop["upstream_per_1000"]
                                  ["upstream keep-alive"]["fresh"]}
    odd = entry.get("odd")
    if odd:
        cells["odd-refused"] = {"kind": "exact", "value": odd["counts"]["refused"]}
    slow = entry.get("slowloris")
    if slow:
        for key, run in (("slow-defaults", "defaults"), ("slow-tightened", "tightened")):
            cells[key] = {"kind": "ends", "how": slow[run]["how"],
                          "after_s": slow[run]["after_s"]}
        cells["slow-server"] = {"kind": "exact",
                                "value": max(r["server_accepted_from_attack"]
                                             for r in slow.values())}
    restarts = entry.get("restarts")
    if restarts:
        cells["restart-one"] = {"kind": "exact", "value": restarts["one"]["failed"]}
        cells["restart-rolling"] = {"kind": "exact", "value": restarts["rolling"]["failed"]}
    return cells


# -- part 1: the hop's cost ------------------------------------------------------------------


def _series(url: str, mode: str, count: int) -> tuple[HopSeries, int]:
    """``count`` timed GET /health: the latency summary, and the answers that were not 200."""
    totals, not_200 = [], 0
    with Prober(url, mode) as prober:
        prober.request("/health")   # warm-up: a first connection, caches
        for _ in range(count):
            sample = prober.request("/health")
            totals.append(sample.total_us)
            not_200 += sample.status != 200
    summary = stats.summarize(totals)
    return {"requests": count, "not_200": not_200, "p50_us": round(summary.p50),
            "p99_us": round(summary.p99), "p99_is_max": summary.p99_is_max}, not_200


def measure_hop(runtime: Runtime, instance: Instance, limits: Limits,
                facts: nginx_proxy.NginxFacts, settings: Settings) -> HopPart:
    upstream = nginx_proxy.upstream_address(runtime, instance)
    counter = AcceptCounter(runtime, instance)
    latency: dict[str, dict[str, HopSeries]] = {"direct": {}}
    per_1000: dict[str, dict[str, float]] = {}
    accepted: dict[str, dict[str, int]] = {}
    for mode, label in CLIENT_MODES:
        latency["direct"][label], _ = _series(instance.url, mode, settings.requests)
    for variant, proxy_settings in (("nginx defaults", nginx_config.DEFAULTS),
                                    ("upstream keep-alive", nginx_config.KEEPALIVE)):
        proxy = nginx_proxy.start(runtime, nginx_config.render(proxy_settings, [upstream]),
                                  limits, facts)
        try:
            latency[variant], per_1000[variant], accepted[variant] = {}, {}, {}
            for mode, label in CLIENT_MODES:
                counter.mark()
                # The warm-up request is counted too: count + 1 requests reached the server.
                latency[variant][label], _ = _series(proxy.url, mode, settings.requests)
                connections = counter.since()
                accepted[variant][label] = connections
                per_1000[variant][label] = round(connections * 1000 / (settings.requests + 1),
                                                 1)
        finally:
            proxy.stop()
    return {"latency_us": latency, "upstream_connections": accepted,
            "upstream_per_1000": per_1000, "requests_per_series": settings.requests + 1,
            "counted_by": counter.method}


# -- part 2: odd requests ------------------------------------------------------------------


ALWAYS_REWRITTEN = ("request line version", "host", "connection")


def _head_of(case: edgecases.Case) -> tuple[str, list[tuple[str, str]], bytes]:
    raw = b"".join(w.data for w in case.writes).decode("latin-1")
    head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return lines[0], headers, body.encode("latin-1")


def rewrites(case: edgecases.Case, forwarded: list) -> list[str]:
    """What differs between the request sent and what nginx forwarded, beyond what nginx does
    to every request (HTTP/1.0, its own Host and Connection)."""
    sent_line, sent_headers, _ = _head_of(case)
    changes = []
    first = forwarded[0]
    method, target = sent_line.split(" ")[:2]
    f_method, f_target = first.request_line.split(" ")[:2]
    if (method, target) != (f_method, f_target):
        changes.append(f"request line {method} {target} -> {f_method} {f_target}")
    skip = {"host", "connection", "content-length", "transfer-encoding", "expect"}
    sent = sorted(f"{k.lower()}: {v}" for k, v in sent_headers
                  if k.strip().lower() not in skip and k and not k.startswith(" "))
    got = sorted(f"{k.lower()}: {v}" for k, v in first.headers if k.lower() not in skip)
    if sent != got:
        dropped = sorted(set(sent) - set(got))
        added = sorted(set(got) - set(sent))
        if dropped:
            changes.append("dropped " + ", ".join(h[:30] for h in dropped))
        if added:
            changes.append("added " + ", ".join(h[:30] for h in added))
    sent_te = any(k.lower() == "transfer-encoding" for k, _ in sent_headers)
    got_cl = first.header_values("content-length")
    got_te = first.header_values("transfer-encoding")
    if sent_te and got_cl and not got_te:
        changes.append(f"chunked body re-framed as Content-Length: {got_cl[0]}")
    raw = b"".join(w.data for w in case.writes)
    if b"\r\n" not in raw.partition(b"\n\n")[0] + b"\n" and b"\n" in raw:
        changes.append("bare LF line ends re-sent as CRLF")
    if len(forwarded) > 1:
        changes.append(f"{len(forwarded)} requests on {len(forwarded)} upstream connections")
    return changes


def capture_forwarded(runtime: Runtime, limits: Limits, facts: nginx_proxy.NginxFacts,
                      on_phase: Callable[[str], None]) -> dict[str, ForwardedRow]:
    """Every row through nginx to the stand-in upstream: what nginx forwarded, per row."""
    # nginx starts first, pointed nowhere: on Docker the address it reaches this machine at
    # (the bridge's gateway) is known only once its container runs.
    proxy = nginx_proxy.start(runtime, nginx_config.render(
        nginx_config.DEFAULTS, ["127.0.0.1:9"], what="a recording stand-in"), limits, facts)
    try:
        recorder = Recorder(proxy.gateway())
        try:
            proxy.reload(nginx_config.render(nginx_config.DEFAULTS, [recorder.address],
                                             what="a recording stand-in"))
            host, port = address(proxy.url)
            for case in edgecases.CASES:
                on_phase(f"what nginx forwards: {case.number}. {case.title}")
                recorder.row = str(case.number)
                edgecases.run_case(case, host, port)
                time.sleep(0.05)   # the stand-in records after it has answered
        finally:
            recorder.close()
    finally:
        proxy.stop()
    rows: dict[str, ForwardedRow] = {}
    for case in edgecases.CASES:
        got = recorder.seen.get(str(case.number), [])
        rows[str(case.number)] = {
            "forwarded": bool(got),
            "requests": [r.as_dict() for r in got],
            "rewrites": rewrites(case, got) if got else [],
        }
    return rows


def _accepts(outcome: str) -> bool:
    """Did an answer show the bytes were taken as a request (any status but a refusal)?"""
    first = outcome.replace("100 → ", "").split(",")[0].strip()
    return first.isdigit() and first not in REFUSED_BY


def measure_odd(runtime: Runtime, instance: Instance, limits: Limits,
                facts: nginx_proxy.NginxFacts, forwarded: Mapping[str, ForwardedRow],
                on_phase: Callable[[str], None]) -> OddPart:
    upstream = nginx_proxy.upstream_address(runtime, instance)
    direct_host, direct_port = address(instance.url)
    proxy = nginx_proxy.start(runtime, nginx_config.render(nginx_config.DEFAULTS, [upstream]),
                              limits, facts)
    rows: dict[str, OddRow] = {}
    try:
        host, port = address(proxy.url)
        for case in edgecases.CASES:
            on_phase(f"{instance.server.name}: {case.number}. {case.title}, direct and "
                     "through nginx")
            direct = edgecases.run_case(case, direct_host, direct_port)
            via = edgecases.run_case(case, host, port)
            seen = forwarded[str(case.number)]
            verdict = ("refused" if not seen["forwarded"] else
                       "rewritten" if seen["rewrites"] else "unchanged")
            rows[str(case.number)] = {
                "direct": direct["outcome"], "direct_connection": direct["connection"],
                "through_nginx": via["outcome"], "through_connection": via["connection"],
                "nginx": verdict,
                "disagree": seen["forwarded"] != _accepts(direct["outcome"]),
            }
    finally:
        proxy.stop()
    counts = {v: sum(1 for r in rows.values() if r["nginx"] == v)
              for v in ("refused", "rewritten", "unchanged")}
    return {"rows": rows, "counts": counts,
            "disagree": [int(k) for k, r in rows.items() if r["disagree"]]}


# -- part 3: slowloris ---------------------------------------------------------------------


def measure_slowloris(runtime: Runtime, instance: Instance, limits: Limits,
                      facts: nginx_proxy.NginxFacts, settings: Settings) -> dict[str, ProxySlowRun]:
    upstream = nginx_proxy.upstream_address(runtime, instance)
    counter = AcceptCounter(runtime, instance)
    attack = slowclients.Settings(connections=settings.slow_connections,
                                  window_s=settings.slow_window_s,
                                  baseline_s=settings.slow_baseline_s)
    runs: dict[str, ProxySlowRun] = {}
    for run, proxy_settings in (("defaults", nginx_config.DEFAULTS),
                                ("tightened", nginx_config.tightened(
                                    settings.tightened_timeout_s))):
        proxy = nginx_proxy.start(runtime, nginx_config.render(proxy_settings, [upstream]),
                                  limits, facts)
        try:
            host, port = address(proxy.url)
            before = slowclients.baseline(host, port, attack)
            counter.mark()
            during, connections = slowclients.under_attack(host, port, attack)
            accepted = counter.since()
        finally:
            proxy.stop()
        summary = slowclients.summarise_connections(connections)
        how, after = slowclients.typical_end(summary)
        # Upstream connections are per request with nginx's defaults: the normal client's
        # requests account for that many of those the server accepted.
        runs[run] = {"client_header_timeout_s": proxy_settings.client_header_timeout_s or 60,
                     "summary": summary, "how": how, "after_s": after,
                     "normal_before": before, "normal_during": during,
                     "server_accepted": accepted,
                     "server_accepted_from_attack": max(0, accepted - during["requests"])}
    return runs


# -- part 4: restarts ----------------------------------------------------------------------


class SteadyLoad:
    """A few threads sending GET /health through nginx on fresh connections until stopped."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.stop_event = threading.Event()
        self.outcomes: list[list] = [[] for _ in range(settings.steady_threads)]
        host, port = address(url)
        self.threads = [threading.Thread(target=steady, args=(host, port,
                                                              settings.steady_every_s,
                                                              self.stop_event, out,
                                                              settings.steady_timeout_s),
                                         daemon=True) for out in self.outcomes]

    def __enter__(self) -> SteadyLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(10)

    def summary(self) -> SteadyCounts:
        kinds: dict[str, int] = {}
        for out in self.outcomes:
            for _, outcome in out:
                kinds[outcome] = kinds.get(outcome, 0) + 1
        total = sum(kinds.values())
        return {"requests": total, "answered_200": kinds.get("200", 0),
                "failed": total - kinds.get("200", 0), "outcomes": kinds}


def _restart(runtime: Runtime, old: Instance, limits: Limits, grace_s: float,
             suffix: str) -> tuple[Instance, RestartTiming]:
    """The server's graceful stop, then a new instance, healthy."""
    began = time.monotonic()
    runtime.stop(old, grace_s=grace_s)
    stopped = time.monotonic()
    new = runtime.start(old.server, limits, instance=suffix)
    try:
        wait_healthy(runtime, new)
    except BaseException:
        runtime.stop(new)
        raise
    return new, {"stop_s": round(stopped - began, 2),
                 "down_s": round(time.monotonic() - began, 2)}


def rolling_restart(runtime: Runtime, server: Server, first: Instance, limits: Limits,
                    facts: nginx_proxy.NginxFacts, settings: Settings,
                    config_for: Callable[[list[str]], str]) -> RestartMeasured:
    """Two instances behind nginx (``first`` and one started here), each restarted in turn with
    its graceful stop while a steady client asks through nginx; ``config_for`` gives nginx's
    configuration for the instances' addresses. Every instance started here is stopped here;
    ``first`` is gone afterwards (restarted), and stopping it again is harmless."""
    instances = [first]
    proxy: nginx_proxy.Proxy | None = None

    def addresses() -> list[str]:
        return [nginx_proxy.upstream_address(runtime, i) for i in instances]

    try:
        instances.append(runtime.start(server, limits, instance="-b"))
        wait_healthy(runtime, instances[1])
        proxy = nginx_proxy.start(runtime, config_for(addresses()), limits, facts)
        timings: list[RestartTiming] = []
        with SteadyLoad(proxy.url, settings) as load:
            time.sleep(settings.settle_s)
            for index, suffix in ((0, ""), (1, "-b")):
                instances[index], timing = _restart(runtime, instances[index], limits,
                                                    settings.grace_s, suffix)
                timings.append(timing)
                proxy.reload(config_for(addresses()))
                # reload() returns once a new worker answers, but the old workers may still
                # accept for a moment, with the old addresses: let them finish before the
                # next instance stops, as a deploy waits for the reload to settle.
                time.sleep(settings.settle_s)
            time.sleep(settings.settle_s)
        return {**load.summary(), "restarts": timings}
    finally:
        if proxy is not None:
            proxy.stop()
        for instance in instances:
            if instance is not first:
                runtime.stop(instance)


def measure_restarts(runtime: Runtime, server: Server, first: Instance, limits: Limits,
                     facts: nginx_proxy.NginxFacts, settings: Settings,
                     on_phase: Callable[[str], None]) -> dict[str, RestartRun]:
    """One upstream restarted, then a rolling restart of two. ``first`` belongs to the caller;
    every instance started here is stopped here, whatever happens."""
    results: dict[str, RestartRun] = {}
    current = first
    proxy: nginx_proxy.Proxy | None = None
    on_phase(f"{server.name}: restart behind nginx, one upstream")
    try:
        proxy = nginx_proxy.start(runtime, nginx_config.render(
            nginx_config.DEFAULTS, [nginx_proxy.upstream_address(runtime, current)]),
            limits, facts)
        with SteadyLoad(proxy.url, settings) as load:
            time.sleep(settings.settle_s)
            current, timing = _restart(runtime, current, limits, settings.grace_s, "")
            proxy.reload(nginx_config.render(nginx_config.DEFAULTS,
                                             [nginx_proxy.upstream_address(runtime, current)]))
            time.sleep(settings.settle_s)
        results["one"] = {**load.summary(), "restarts": [timing],
                          "config": nginx_config.DEFAULTS.variant}
        proxy.stop()
        proxy = None
        on_phase(f"{server.name}: rolling restart of two instances behind nginx")
        rolling = rolling_restart(runtime, server, current, limits, facts, settings,
                                  lambda upstreams: nginx_config.render(ROLLING, upstreams))
        results["rolling"] = {**rolling, "config": ROLLING.variant}
    finally:
        if proxy is not None:
            proxy.stop()
        if current is not first:
            runtime.stop(current)
    return results


def count_upstream(runtime: Runtime, instance: Instance, proxy_url: str,
                   requests: int) -> dict:
    """``requests`` GET /health through nginx on fresh client connections, and the connections
    the server accepted meanwhile (the warm-up request included)."""
    counter = AcceptCounter(runtime, instance)
    counter.mark()
    series, not_200 = _series(proxy_url, FRESH, requests)
    accepted = counter.since()
    return {"requests": requests + 1, "not_200": not_200, "upstream_connections": accepted,
            "per_1000": round(accepted * 1000 / (requests + 1), 1), "p50_us": series["p50_us"],
            "counted_by": counter.method}


# -- the lab -------------------------------------------------------------------------------


def holds(entry: Mapping[str, Any], tightened_s: int) -> dict[str, bool]:
    """Which of the lesson's predictions the measurement bears out, row by row."""
    expected = predicted(tightened_s)
    out: dict[str, bool] = {}
    hop = entry.get("hop")
    if hop:
        per = hop["upstream_per_1000"]
        out["hop-defaults"] = all(v >= 990 for v in per["nginx defaults"].values())
        out["hop-keepalive"] = all(v <= 10 for v in per["upstream keep-alive"].values())
    slow = entry.get("slowloris")
    if slow:
        for key, run in (("slow-defaults", "defaults"), ("slow-tightened", "tightened")):
            want = expected[key]
            out[key] = slowclients.prediction_holds((want["how"], want["after_s"]),
                                                    slow[run]["how"], slow[run]["after_s"])
        out["slow-server"] = all(r["server_accepted_from_attack"] == 0 for r in slow.values())
    restarts = entry.get("restarts")
    if restarts:
        out["restart-one"] = restarts["one"]["failed"] > 0
        out["restart-rolling"] = restarts["rolling"]["failed"] == 0
    return out


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Settings,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> ProxyDocument:
    phase = on_phase or (lambda _text: None)
    phase("preparing nginx")
    facts = nginx_proxy.prepare(runtime, on_build_line)
    forwarded = capture_forwarded(runtime, limits, facts, phase) \
        if "odd" in settings.parts else None
    results: dict[str, ProxyServer] = {}
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        server_part = server_facts(server)
        parts: ProxyParts = {}
        with running(runtime, server, limits) as instance:
            path_part: PathPart = {"kind": instance.path_kind, "description": instance.path}
            if "hop" in settings.parts:
                phase(f"{server.name}: the hop's cost, {settings.requests} requests a series")
                parts["hop"] = measure_hop(runtime, instance, limits, facts, settings)
            if forwarded is not None:
                parts["odd"] = measure_odd(runtime, instance, limits, facts, forwarded, phase)
            if "slowloris" in settings.parts:
                phase(f"{server.name}: slowloris through nginx, {settings.slow_connections} "
                      f"connections for {settings.slow_window_s:g} s, twice")
                parts["slowloris"] = measure_slowloris(runtime, instance, limits, facts,
                                                       settings)
            if "restarts" in settings.parts:
                parts["restarts"] = measure_restarts(runtime, server, instance, limits, facts,
                                                     settings, phase)
        results[server.name] = {**server_part, "path": path_part, **parts,
                                "prediction_holds": holds(parts, settings.tightened_timeout_s)}
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "nginx": facts.as_dict(),
        "parameters": {"requests_per_series": settings.requests,
                       "slow_connections": settings.slow_connections,
                       "slow_window_s": settings.slow_window_s,
                       "slow_baseline_s": settings.slow_baseline_s,
                       "tightened_client_header_timeout_s": settings.tightened_timeout_s,
                       "steady_client": STEADY_TIMEOUT_NOTE.replace(
                           "20 ms", f"{settings.steady_every_s * 1000:g} ms").replace(
                           "2 threads", f"{settings.steady_threads} threads"),
                       "grace_s": settings.grace_s, "parts": list(settings.parts),
                       "upstream_keepalive": nginx_config.UPSTREAM_KEEPALIVE,
                       "after_restart": "labctl points nginx at the new instance and reloads "
                                        "it (SIGHUP, graceful)"},
        "limits": limits.as_dict(),
        "predicted": predicted(settings.tightened_timeout_s),
        "forwarded": forwarded,
        "cases": [{"number": c.number, "key": c.key, "title": c.title}
                  for c in edgecases.CASES] if forwarded is not None else [],
        "servers": results,
    }


def configs(tightened_s: int, upstreams: tuple[str, ...] = ("SERVER_IP:8080",)) -> dict[str, str]:
    """Every configuration the lab generates, by variant (``--show-config``)."""
    two = (upstreams[0], "SERVER_B_IP:8080")
    return {
        "nginx defaults": nginx_config.render(nginx_config.DEFAULTS, list(upstreams)),
        "upstream keep-alive": nginx_config.render(nginx_config.KEEPALIVE, list(upstreams)),
        "tightened": nginx_config.render(nginx_config.tightened(tightened_s), list(upstreams)),
        "rolling": nginx_config.render(ROLLING, list(two)),
    }


def _sheet(chosen: list[Server], settings: Settings) -> str:
    from labctl.labs import predictions

    return predictions.sheet("labctl lab proxy", [s.name for s in chosen], list(SHEET_ROWS),
                             SHEET_EXAMPLE)


PLUGIN = LabPlugin(
    name="proxy",
    run=run_lab,
    sheet=_sheet, judge=judge_learner, cells_of=cells_of)
