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
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from labctl.measure import clients, stats, verify
from labctl.measure import sampling as measure
from labctl.measure.modes import FRESH, KEEPALIVE, MODE_LABELS
from labctl.results import hostinfo
from labctl.results.documents import add_between_engines, cold_start_note, server_facts
from labctl.runtime import client_engine
from labctl.runtime.base import Instance, Limits, ProgressCallback, Runtime
from labctl.runtime.cpus import cores
from labctl.runtime.lifecycle import running, wait_healthy
from labctl.servers import Server

COMPARE_SCHEMA = "labctl.compare/1"
HEADLINE_PATH = "/health"


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
                run_load: Callable[[Runtime, Instance, Any], dict] | None = None) -> dict:
    phase = on_phase or (lambda _text: None)
    entries: dict[str, dict] = {}
    for server in chosen:
        phase(f"building {server.title}")
        entries[server.name] = {**server_facts(server),
                                "build": _build(runtime, server, on_build_line)}

    client = clients.for_runtime(runtime)
    if client.preparing:
        phase(client.preparing)
    client.prepare(on_build_line)

    with ExitStack() as stack:
        instances: dict[str, Instance] = {}
        for server in chosen:
            phase(f"starting {server.title}")
            instance = stack.enter_context(running(runtime, server, options.limits))
            instances[server.name] = instance
            entry = entries[server.name]
            entry["path"] = {"kind": instance.path_kind, "description": instance.path}
            entry["limits"] = instance.limits.as_dict()
            entry["first_cold_start_ms"] = instance.cold_start_ms
            entry["cold_start_note"] = cold_start_note(instance)

        phase("checking every server before measuring")
        # One call for all: on an engine elsewhere, one container run checks them all.
        verifications = client.check_all({name: (inst.server, inst.url)
                                          for name, inst in instances.items()})
        # Memory at rest, before any load: read it now, while nothing has been sent but checks.
        for name, instance in instances.items():
            entries[name]["idle_memory_bytes"] = runtime.idle_memory_bytes(instance)
        measurable = {name: instances[name].url for name, v in verifications.items()
                      if v.status != verify.FAIL}

        if measurable:
            phase(f"timing {len(measurable)} server(s) in interleaved rounds")
            if client.elsewhere:
                phase(f"timing {len(measurable)} server(s) in interleaved rounds, "
                      f"{client.where}")
            results, probe_cpus = client.measure(
                measurable, cpuset=client_engine.client_cpus(runtime, options.limits),
                samples=options.samples, warmup=options.warmup, block=options.block,
                on_round=lambda done, total: phase(
                    f"timing in interleaved rounds: {done}/{total}"))
        else:
            results, probe_cpus = {}, None
        for name, verification in verifications.items():
            client.date_changes(verification, instances[name].url)
            entries[name]["verification"] = verification.as_dict()
            entries[name]["measured"] = name in measurable and verification.status != verify.FAIL
            if name in results:
                entries[name]["latency"] = {
                    path: {mode: series.as_dict() for mode, series in by_mode.items()}
                    for path, by_mode in results[name].items()}

        if run_load is not None and options.load is not None:
            for name, instance in instances.items():
                if entries[name]["measured"]:
                    phase(f"load test of {instance.server.title}")
                    entries[name]["load"] = run_load(runtime, instance, options.load)

    for server in chosen:
        entry = entries[server.name]
        samples = [entry.pop("first_cold_start_ms")]
        for attempt in range(max(options.cold_starts - 1, 0)):
            phase(f"cold start of {server.title}: start {attempt + 2} of {options.cold_starts}")
            samples.append(_cold_start(runtime, server, options.limits))
        entry["cold_start_ms"] = {"median": round(stats.median(samples), 1),
                                  "samples": [round(s, 1) for s in samples]}
        note = entry.pop("cold_start_note", None)
        if note:
            entry["cold_start_ms"]["note"] = note

    document = {
        "schema": COMPARE_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "limits": _applied_limits(entries, options.limits),
        "parameters": {
            "samples": options.samples, "warmup_discarded": options.warmup,
            "cold_starts": options.cold_starts, "paths": list(measure.DEFAULT_PATHS),
            "modes": MODE_LABELS, "interleaved": True, "block": options.block,
            "probe": f"{client.description}, time_total as curl -w reports it",
            "probe_where": client.where,
            "probe_cpus": probe_cpus,
            "load": getattr(options.load, "as_dict", lambda: None)() if options.load else None,
        },
        "servers": entries,
    }
    add_between_engines(document, runtime)
    document["analysis"] = analyse(document)
    return document


def _applied_limits(entries: dict[str, dict], requested: Limits) -> dict:
    """The limits the runtime really applied (the same for every server); the request if none
    started."""
    applied = [e["limits"] for e in entries.values() if e.get("limits")]
    return applied[0] if applied else dict(requested.as_dict())


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


def _cold_start(runtime: Runtime, server: Server, limits: Limits) -> float:
    instance = runtime.start(server, limits)
    try:
        return wait_healthy(runtime, instance)
    finally:
        runtime.stop(instance)


def analyse(document: dict) -> dict:
    """Ratios against the fastest, noise overlaps, and a plain-language reading."""
    measured = {name: e for name, e in document["servers"].items() if e.get("latency")}
    analysis: dict = {"ratios": {}, "ties": [], "reading": []}
    if not measured:
        analysis["reading"].append("No server passed its checks, so nothing was measured.")
        return analysis
    for path in measure.DEFAULT_PATHS:
        for mode in (FRESH, KEEPALIVE):
            found = {name: _summary(e, path, mode) for name, e in measured.items()}
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


def _title(document: dict, name: str) -> str:
    entry = document["servers"][name]
    return f"{entry['language']} {entry['framework']}"


def _reading(document: dict, measured: dict, analysis: dict) -> list[str]:
    lines = []
    fresh = analysis["ratios"].get(f"{HEADLINE_PATH} {FRESH}")
    if fresh:
        ordered = sorted(fresh["p50_ratio"].items(), key=lambda kv: kv[1])
        best = ordered[0][0]
        best_summary = _summary(measured[best], HEADLINE_PATH, FRESH)
        assert best_summary is not None   # a server in the ratios has this summary
        best_p50 = best_summary.p50
        rest = ", ".join(f"{_title(document, n)} {r:.1f}×" for n, r in ordered[1:])
        lines.append(
            f"On a new connection per request, {_title(document, best)} answered GET "
            f"{HEADLINE_PATH} fastest (median {best_p50:.0f} µs)"
            + (f"; the others took {rest} as long." if rest else "."))
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
    headline_ties = [t for t in analysis["ties"]
                     if t["path"] == HEADLINE_PATH and t["mode"] == FRESH]
    for tie in headline_ties:
        a, b = tie["servers"]
        lines.append(
            f"{_title(document, a)} and {_title(document, b)} differ by less than this run's "
            "own noise (their medians' 95% intervals overlap): do not read a ranking into them.")
    limits = document["limits"]
    lines.append(
        f"Each server was limited to {cores(limits['cpus'])}. Python runs one uvicorn worker "
        "and Node one event loop whatever the limit; Go and Rust would spread over more cores "
        "if allowed, which matters under load (labctl compare --load), not for one request "
        "at a time.")
    failed = [n for n, e in document["servers"].items() if not e.get("measured")]
    for name in failed:
        lines.append(f"{_title(document, name)} failed its checks and was not measured.")
    return lines
