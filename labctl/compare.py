"""`labctl compare`: the four servers side by side, under the same conditions.

Fairness, step by step:
- every server gets the same CPU and memory limits, and the probe runs on other CPUs;
- each server is verified first; one that answers wrongly is reported and not measured;
- latency samples are taken in interleaved rounds (go, python, rust, node, go, …) so that drift
  on a shared machine hits all of them alike;
- cold start is the median of several fresh starts, not one lucky or unlucky one;
- medians whose confidence intervals overlap are called out as not different.

Returns a JSON-ready document (schema ``labctl.compare/1``); rendering lives in render.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, cast

from labctl.measure import clients, first_look, oneshot, stats, verify
from labctl.measure import sampling as measure
from labctl.measure.modes import FRESH, KEEPALIVE, MODE_LABELS
from labctl.results import hostinfo
from labctl.results.documents import (
    Analysis,
    ColdStart,
    CompareDocument,
    CompareEntry,
    CompareFigures,
    CompareParameters,
    LimitsPart,
    LoadPart,
    OneShotSeries,
    PathCheck,
    PathPart,
    ServerFacts,
    Verification,
    between_engines_part,
    cold_start_note,
    server_facts,
)
from labctl.runtime import client_engine
from labctl.runtime.base import Instance, Limits, ProgressCallback, Runtime
from labctl.runtime.cpus import cores
from labctl.runtime.lifecycle import stop_together, wait_healthy
from labctl.servers import Server

COMPARE_SCHEMA = "labctl.compare/1"
HEADLINE_PATH = "/health"

# The path check. A TCP handshake is completed by the kernel before the server's code sees the
# connection, so servers reached over the same kind of path should show about the same connect
# time. One whose connect median is far above the others' had a slow path during the run (a
# busy bridge, a neighbour's burst), and its new-connection figures say nothing about the
# server. "Far above": more than PATH_SLOW_FACTOR times the others' median AND more than
# PATH_SLOW_MARGIN_US above it. Measured on a shared 2-core machine under heavy load (load
# average 26): in 8 rounds of 200 new connections to Go, Python and Node over one bridge, and in
# a saved compare, a server's connect median was at most 1.05× (11 µs) off the others' median
# (the medians themselves 188–218 µs); the fault the rule is for was 956 µs against 17 µs, 56×.
# 3× and 100 µs sit far above that noise and far below such a fault.
PATH_SLOW_FACTOR = 3.0
PATH_SLOW_MARGIN_US = 100.0

# Idle memory is read this long after a server's first 200 on /health: Node's grows for about
# 0.1 s more (read every 0.1 s in four containers: 18-30 MB at once, then 31-52 MB and flat);
# Go's, Python's and Rust's were flat from the first read. Before, the engine's stats endpoint
# chose the moment: its collector's next once-a-second sample.
IDLE_MEMORY_SETTLE_S = 0.5


@dataclass
class CompareOptions:
    samples: int = 200
    warmup: int = 10
    cold_starts: int = 5
    block: int = 10
    limits: Limits = field(default_factory=Limits)
    load: object | None = None   # loadgen options when --load was asked for


def run_compare(runtime: Runtime, chosen: list[Server], options: CompareOptions,
                on_build_line: ProgressCallback | None = None,
                on_phase: Callable[[str], None] | None = None,
                run_load: Callable[[Runtime, Instance, Any], LoadPart] | None = None,
                on_first_look: Callable[[first_look.FirstLook], None] | None = None,
                ) -> CompareDocument:
    """The comparison document. With ``on_first_look``, a server built from nothing while
    another still builds is given a first look at once (labctl/measure/first_look.py), not part of
    the document."""
    phase = on_phase or (lambda _text: None)
    for server in chosen:   # in the learner's order: the first that cannot be built is named
        runtime.check_server(server)
    client = clients.for_runtime(runtime)
    if client.preparing:
        phase(client.preparing)
    client.prepare(on_build_line)

    # Each server's parts as they are measured; its entry is put together at the end, in the
    # learner's order.
    facts: dict[str, ServerFacts] = {}
    builds: dict[str, dict[str, Any]] = {}
    for server, build, building in first_look.built_in_turn(
            first_look.cheapest_build_first(chosen),
            lambda server: _build(runtime, server, on_build_line),
            waiting=lambda server: phase(f"building {server.title}")):
        facts[server.name] = server_facts(server)
        builds[server.name] = build
        # Only after a real build, with another under way: on a warm run every build is a
        # cache hit of a second or less, and a first look would only add to the wait.
        if on_first_look is not None and build.get("built") and building is not None:
            phase(f"first look at {server.title} while {building.title} builds")
            on_first_look(first_look.take_first_look(runtime, client, server, options.limits,
                                                     building))

    paths: dict[str, PathPart] = {}
    limits: dict[str, LimitsPart] = {}
    first_cold_start_ms: dict[str, float] = {}
    notes: dict[str, str | None] = {}
    idle_memory: dict[str, int | None] = {}
    checked: dict[str, Verification] = {}
    measured: dict[str, bool] = {}
    figures: dict[str, CompareFigures] = {}
    with ExitStack() as stack:
        instances: dict[str, Instance] = {}
        # The compared servers: removed together at the end, or on any failure. Forced, as
        # nothing here times their stop.
        started: list[Instance] = []
        stack.callback(lambda: stop_together(runtime, started, grace_s=0))
        memory_reads = stack.enter_context(ThreadPoolExecutor(max_workers=len(chosen)))
        pending_memory: dict[str, Future[int | None]] = {}
        for server in chosen:
            phase(f"starting {server.title}")
            instance = runtime.start(server, options.limits)
            started.append(instance)
            instances[server.name] = instance
            instance.cold_start_ms = first_cold_start_ms[server.name] = wait_healthy(runtime,
                                                                                     instance)
            paths[server.name] = {"kind": instance.path_kind, "description": instance.path}
            limits[server.name] = instance.limits.as_dict()
            notes[server.name] = cold_start_note(instance)
            # Memory at rest, read IDLE_MEMORY_SETTLE_S after the server is up, before anything
            # but health polls reached it; the wait passes while the next server starts.
            pending_memory[server.name] = memory_reads.submit(
                _idle_memory_once_settled, runtime, instance, time.monotonic())

        phase("checking every server before measuring")
        # One call for all: on an engine elsewhere, one container run checks them all.
        verifications = client.check_all({name: (inst.server, inst.url)
                                          for name, inst in instances.items()})
        idle_memory.update({name: read.result() for name, read in pending_memory.items()})
        measurable = {name: instances[name].url for name, v in verifications.items()
                      if v.status != verify.FAIL}

        if measurable:
            phase(f"timing {len(measurable)} server(s) in interleaved rounds")
            if client.elsewhere:
                phase(f"timing {len(measurable)} server(s) in interleaved rounds, "
                      f"{client.where}")
            # One curl process per request too, between the rounds: a second or two for all
            # four servers, cheap beside the libcurl series.
            curl = oneshot.Plan.beside(options.samples)
            results, probe_cpus = client.measure(
                measurable, cpuset=client_engine.client_cpus(runtime, options.limits),
                samples=options.samples, warmup=options.warmup, block=options.block,
                on_round=lambda done, total: phase(
                    f"timing in interleaved rounds: {done}/{total}"), one_shot=curl)
            curl_series = curl.result
        else:
            results, probe_cpus, curl_series = {}, None, None
        for name, verification in verifications.items():
            client.date_changes(verification, instances[name].url)
            checked[name] = verification.as_dict()
            measured[name] = name in measurable and verification.status != verify.FAIL
            found = figures[name] = {}
            if name in results:
                found["latency"] = {
                    path: {mode: series.as_dict() for mode, series in by_mode.items()}
                    for path, by_mode in results[name].items()}
            if curl_series and name in curl_series["servers"]:
                found["one_shot_curl"] = curl_series["servers"][name]

        if run_load is not None and options.load is not None:
            for name, instance in instances.items():
                if measured[name]:
                    phase(f"load test of {instance.server.title}")
                    figures[name]["load"] = run_load(runtime, instance, options.load)

    entries: dict[str, CompareEntry] = {}
    for server in chosen:
        name = server.name
        samples = [first_cold_start_ms[name]]
        for attempt in range(max(options.cold_starts - 1, 0)):
            phase(f"cold start of {server.title}: start {attempt + 2} of {options.cold_starts}")
            samples.append(_cold_start(runtime, server, options.limits))
        cold: ColdStart = {"median": round(stats.median(samples), 1),
                           "samples": [round(s, 1) for s in samples]}
        note = notes[name]
        if note:
            cold["note"] = note
        entries[name] = {**facts[name], "build": builds[name], "path": paths[name],
                         "limits": limits[name], "idle_memory_bytes": idle_memory[name],
                         "verification": checked[name], "measured": measured[name],
                         **figures[name], "cold_start_ms": cold}

    parameters: CompareParameters = {
        "samples": options.samples, "warmup_discarded": options.warmup,
        "cold_starts": options.cold_starts, "paths": list(measure.DEFAULT_PATHS),
        "modes": MODE_LABELS, "interleaved": True, "block": options.block,
        "probe": f"{client.description}, time_total as curl -w reports it",
        "probe_where": client.where,
        "probe_cpus": probe_cpus,
        "load": getattr(options.load, "as_dict", lambda: None)() if options.load else None,
        "one_shot_curl": _one_shot_as_a_whole(curl_series),
        "idle_memory_after_s": IDLE_MEMORY_SETTLE_S,
    }
    applied = _applied_limits(entries, options.limits)
    document: CompareDocument = {
        "schema": COMPARE_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "limits": applied,
        "parameters": parameters,
        "servers": entries,
        **between_engines_part(runtime),
        "analysis": analyse({"limits": applied, "parameters": parameters, "servers": entries}),
    }
    return document


def _one_shot_as_a_whole(curl_series: dict[str, Any] | None) -> OneShotSeries | None:
    """The curl series less its per-server figures (those go in each server's entry); None when
    nothing was measured. The series comes as the probe returned it (from a container elsewhere,
    as JSON), so its keys are taken on trust here: the contract tests check them."""
    if not curl_series:
        return None
    return cast(OneShotSeries, {k: v for k, v in curl_series.items()
                                if k not in ("servers", "second_request")})


def _applied_limits(entries: Mapping[str, CompareEntry], requested: Limits) -> LimitsPart:
    """The limits the runtime really applied (the same for every server); the request if none
    started."""
    applied = [found for e in entries.values() if (found := e.get("limits"))]
    return applied[0] if applied else requested.as_dict()


def _build(runtime: Runtime, server: Server, on_line: ProgressCallback | None) -> dict:
    """Build (or reuse), then time a fully cached rebuild, so both figures can be shown."""
    first = runtime.prepare(server, on_line)
    build = first.as_dict()
    if first.built:
        build["uncached_seconds"] = round(first.seconds, 2)
    if runtime.has_build_cache:
        cached = runtime.prepare(server, on_line, rebuild=True)
        build["cached_seconds"] = round(cached.seconds, 2)
    return build


def _idle_memory_once_settled(runtime: Runtime, instance: Instance, healthy_at: float,
                              ) -> int | None:
    time.sleep(max(0.0, healthy_at + IDLE_MEMORY_SETTLE_S - time.monotonic()))
    return runtime.idle_memory_bytes(instance)


def _cold_start(runtime: Runtime, server: Server, limits: Limits) -> float:
    instance = runtime.start(server, limits)
    try:
        return wait_healthy(runtime, instance)
    finally:
        # Removed at once, not stopped gracefully: only its start is timed, and a graceful stop
        # of each of the series' containers was a fifth of a warm compare's wall time. Removed
        # before the next start, not left idle to be removed with the rest at the end: the
        # engine removes one container at a time either way (measured: 5 Node starts took
        # 2.4-2.6 s both ways), and the next start is then timed on an engine with nothing
        # else to do.
        runtime.stop(instance, grace_s=0)


def path_check(servers: Mapping[str, Any]) -> PathCheck:
    """Which servers' path was slow during the run, judged from their TCP connect medians on
    new connections (see PATH_SLOW_FACTOR): ``{"rule", "connect_p50_us", "slow"}``."""
    connects: dict[str, float] = {}
    for name, entry in servers.items():
        values = [((entry.get("latency") or {}).get(path, {}).get(FRESH, {}).get("phases_p50")
                   or {}).get("connect_us") for path in measure.DEFAULT_PATHS]
        known = [v for v in values if isinstance(v, (int, float))]
        if known:
            connects[name] = stats.median(known)
    kind = {name: ((servers[name].get("path") or {}).get("kind")) for name in connects}
    slow: list[str] = []
    for name, value in connects.items():
        others = [v for other, v in connects.items() if other != name and kind[other] == kind[name]]
        if not others:
            continue
        reference = stats.median(others)
        if value > PATH_SLOW_FACTOR * reference and value - reference > PATH_SLOW_MARGIN_US:
            slow.append(name)
    return {"rule": f"TCP connect median over {PATH_SLOW_FACTOR:g}× the other servers' median "
                    f"on the same kind of path and over {PATH_SLOW_MARGIN_US:g} µs above it",
            "connect_p50_us": {name: round(value, 1) for name, value in connects.items()},
            "slow": sorted(slow)}


def analyse(document: Mapping[str, Any]) -> Analysis:
    """Ratios against the fastest, noise overlaps, the path check, and a plain-language
    reading. A server whose path was slow during the run is not ranked on new connections."""
    measured = {name: e for name, e in document["servers"].items() if e.get("latency")}
    analysis: Analysis = {"ratios": {}, "ties": [], "reading": []}
    if not measured:
        analysis["reading"].append("No server passed its checks, so nothing was measured.")
        return analysis
    analysis["path_check"] = path_check(measured)
    slow_path = set(analysis["path_check"]["slow"])
    for path in measure.DEFAULT_PATHS:
        for mode in (FRESH, KEEPALIVE):
            found = {name: _summary(e, path, mode) for name, e in measured.items()
                     if not (mode == FRESH and name in slow_path)}
            summaries = {name: s for name, s in found.items() if s is not None}
            if not summaries:
                continue
            fastest = min(summaries, key=lambda n: summaries[n].p50)
            key = f"{path} {mode}"
            analysis["ratios"][key] = {
                "fastest": fastest,
                "p50_ratio": {n: round(stats.ratio(s.p50, summaries[fastest].p50), 2)
                              for n, s in summaries.items()},
            }
            names = sorted(summaries, key=lambda n: summaries[n].p50)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    if stats.overlaps(summaries[a], summaries[b]):
                        analysis["ties"].append({"path": path, "mode": mode, "servers": [a, b]})
    analysis["reading"] = _reading(document, measured, analysis)
    return analysis


def _summary(entry: dict, path: str, mode: str) -> stats.Summary | None:
    data = (((entry.get("latency") or {}).get(path) or {}).get(mode) or {}).get("summary")
    if not data:
        return None
    return stats.Summary(**data)


def _title(document: Mapping[str, Any], name: str) -> str:
    entry = document["servers"][name]
    return f"{entry['language']} {entry['framework']}"


def _reading(document: Mapping[str, Any], measured: dict, analysis: Analysis) -> list[str]:
    lines = []
    check: Mapping[str, Any] = analysis.get("path_check") or {"slow": [], "connect_p50_us": {}}
    for name in check["slow"]:
        connects = check["connect_p50_us"]
        others = stats.median([v for n, v in connects.items() if n != name])
        lines.append(
            f"The network path to {_title(document, name)} was slow during this run: its TCP "
            f"connect took a median {connects[name]:.0f} µs against {others:.0f} µs for the "
            "others. The kernel completes that handshake before the server sees the "
            f"connection, so this was not {_title(document, name)}'s doing; it is not ranked "
            "on new connections. Run the comparison again.")
    headline_ties = [t for t in analysis["ties"]
                     if t["path"] == HEADLINE_PATH and t["mode"] == FRESH]
    fresh = analysis["ratios"].get(f"{HEADLINE_PATH} {FRESH}")
    tied_with_best: list[str] = []
    if fresh:
        ordered = sorted(fresh["p50_ratio"].items(), key=lambda kv: kv[1])
        best = ordered[0][0]
        best_summary = _summary(measured[best], HEADLINE_PATH, FRESH)
        assert best_summary is not None   # a server in the ratios has this summary
        # A server whose median is within the run's noise of the fastest one is named beside
        # it, without a ratio: "2.9× as long" and "within the noise" must not both be said.
        tied_with_best = [n for n, _ in ordered[1:]
                          if any({best, n} == set(t["servers"]) for t in headline_ties)]
        rest = ", ".join(f"{_title(document, n)} {r:.1f}×" for n, r in ordered[1:]
                         if n not in tied_with_best)
        fastest = _title(document, best)
        if tied_with_best:
            who = ", ".join(_title(document, n) for n in [best, *tied_with_best])
            how = (f", within this run's own noise of each other (their medians' 95% intervals "
                   f"overlap; {fastest}'s median {best_summary.p50:.0f} µs): do not read a "
                   "ranking into them")
            than = f" as long as {fastest}"
        else:
            who, how, than = fastest, f" (median {best_summary.p50:.0f} µs)", " as long"
        lines.append(f"On a new connection per request, {who} answered GET {HEADLINE_PATH} "
                     f"fastest{how}" + (f"; the others took {rest}{than}." if rest else "."))
    keep = analysis["ratios"].get(f"{HEADLINE_PATH} {KEEPALIVE}")
    keep_tied = any(t["mode"] == KEEPALIVE and t["path"] == HEADLINE_PATH
                    and {fresh and fresh["fastest"], keep and keep["fastest"]} == set(t["servers"])
                    for t in analysis["ties"])
    if fresh and keep and keep["fastest"] != fresh["fastest"] and not keep_tied:
        lines.append(
            f"On a kept-alive connection the order changes: {_title(document, keep['fastest'])} "
            "is fastest. Connection set-up costs each server differently.")
    saving_of: dict[str, float] = {}
    for name, entry in measured.items():
        new, kept = _summary(entry, HEADLINE_PATH, FRESH), _summary(entry, HEADLINE_PATH, KEEPALIVE)
        if new and kept:
            saving_of[name] = new.p50 - kept.p50
    savings = list(saving_of.values())
    if savings and min(savings) > 0:
        spread = (f"{min(savings):.0f} µs" if len(savings) == 1
                  else f"{min(savings):.0f}–{max(savings):.0f} µs")
        lines.append(
            f"Reusing the connection saved {spread} per request: for the fastest servers that is "
            "a large share of what a one-shot curl measures.")
    elif savings:
        # A kept-alive connection cannot really be slower than a new one for the same request:
        # when a median says so, the run's noise outweighed a TCP connect. Say that, never
        # "saved -700 µs".
        slower = [name for name, saving in saving_of.items() if saving <= 0]
        lines.append(
            "Reusing the connection did not come out faster for "
            + ", ".join(_title(document, name) for name in slower)
            + " on this run: the machine's own noise was larger than a TCP connect costs. "
            "Run again on a quieter machine before reading anything into it.")
    lines += _one_shot_reading(document, measured)
    for tie in headline_ties:
        a, b = tie["servers"]
        if fresh and {a, b} <= {fresh["fastest"], *tied_with_best}:
            continue   # said with the fastest above
        lines.append(
            f"{_title(document, a)} and {_title(document, b)} differ by less than this run's "
            "own noise (their medians' 95% intervals overlap): do not read a ranking into them.")
    limits = document["limits"]
    lines.append(
        f"Each server was limited to {cores(limits['cpus'])}. Python runs one uvicorn worker "
        "and Node one event loop whatever the limit; Go and Rust would spread over more cores "
        "if allowed, which matters under load (labctl compare --load), not for one request "
        "at a time.")
    for name, entry in measured.items():
        load = entry.get("load") or {}
        if load.get("flagged"):
            lines.append(f"The load test of {_title(document, name)} is flagged: "
                         + "; ".join(load.get("reasons") or []) + ".")
    failed = [n for n, e in document["servers"].items() if not e.get("measured")]
    for name in failed:
        lines.append(f"{_title(document, name)} failed its checks and was not measured.")
    return lines


def _one_shot_reading(document: Mapping[str, Any], measured: dict) -> list[str]:
    """One sentence: what one curl process per request adds to each server's new-connection
    median, the part a shell loop of curl would wrongly charge to the servers."""
    gaps = {}
    for name, entry in measured.items():
        found = oneshot.gap((entry.get("one_shot_curl") or {}).get(HEADLINE_PATH),
                            ((entry.get("latency") or {}).get(HEADLINE_PATH) or {}).get(FRESH),
                            HEADLINE_PATH)
        if found:
            gaps[name] = found
    if not gaps:
        part = document["parameters"].get("one_shot_curl") or {}
        return [f"No one-shot curl figures: {part['why_not']}."] if part.get("why_not") else []
    each = ", ".join(f"{_title(document, n)} {g['one_shot_p50_us']:.0f} µs against "
                     f"{g['new_connection_p50_us']:.0f} µs" for n, g in gaps.items())
    extras = [g["client_cold_start_us"] for g in gaps.values()]
    if min(extras) <= 0:
        not_above = ", ".join(_title(document, n) for n, g in gaps.items()
                              if g["client_cold_start_us"] <= 0)
        return [f"One curl process per request measured GET {HEADLINE_PATH} at {each} on a new "
                f"connection from labctl; for {not_above} it came out no slower on this run: the "
                "machine's noise outweighed curl's cold start. Run again before reading "
                "anything into it."]
    spread = (f"{min(extras):.0f} µs" if len(extras) == 1
              else f"{min(extras):.0f}–{max(extras):.0f} µs")
    return [f"One curl process per request (a shell loop of curl) measured GET {HEADLINE_PATH} at "
            f"{each} on a new connection from labctl: {spread} of each one-shot figure is the "
            "curl process's own cold start, not the server, which is why timing a fast server "
            "with curl in a loop over-states its latency."]
