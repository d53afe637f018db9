"""What changed between two saved results: the conditions first, then the figures.

A difference in conditions (runtime, machine, limits, labctl or server revision) is listed before
any number, because it may explain the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labctl.measure import stats
from labctl.results.documents import DiffDocument

DIFF_SCHEMA = "labctl.diff/1"

def _engine(document: Mapping[str, Any]) -> str | None:
    """The Docker engine a result ran on, as "name (ID)"; None for the local runtime and for
    results saved before labctl recorded it (they cannot say, so they are not called different)."""
    engine = (document.get("runtime") or {}).get("engine") or {}
    if not engine.get("id"):
        return None
    return f"{engine.get('name') or 'unnamed'} ({engine['id']})"


CONTEXT_FIELDS = [
    ("runtime", lambda d: (d.get("runtime") or {}).get("runtime")),
    ("engine", _engine),
    ("engine version", lambda d: (d.get("runtime") or {}).get("engine_version")),
    ("CPU", lambda d: (d.get("host") or {}).get("cpu")),
    ("cores", lambda d: (d.get("host") or {}).get("cores")),
    ("labctl version", lambda d: (d.get("host") or {}).get("labctl_version")),
    ("server source revision", lambda d: (d.get("host") or {}).get("source_revision")),
    ("limits", lambda d: d.get("limits")),
    ("samples", lambda d: (d.get("parameters") or {}).get("samples")
     or (d.get("probe") or {}).get("samples")),
    ("load parameters", lambda d: _load_parameters(d)),
]


def _load_parameters(document: Mapping[str, Any]) -> dict | None:
    load = document.get("load") if isinstance(document.get("load"), dict) else None
    if not load:
        return None
    keys = ("path", "connections", "duration_s", "loop", "rate", "keepalive", "generator")
    return {k: load.get(k) for k in keys if k in load}


def _latency_by_server(document: Mapping[str, Any]) -> dict[str, dict]:
    if isinstance(document.get("servers"), dict):
        return {n: e.get("latency") or {} for n, e in document["servers"].items()}
    if "endpoints" in document:
        return {document["server"]["name"]: document["endpoints"]}
    return {}


def _load_by_server(document: Mapping[str, Any]) -> dict[str, dict]:
    if isinstance(document.get("servers"), dict):
        return {n: e["load"] for n, e in document["servers"].items() if e.get("load")}
    if isinstance(document.get("load"), dict) and isinstance(document.get("server"), dict):
        return {document["server"]["name"]: document["load"]}
    return {}


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> DiffDocument:
    context = []
    for label, getter in CONTEXT_FIELDS:
        before, after = getter(a), getter(b)
        # An engine unknown on one side (an older result) is not a difference anyone can see.
        if before != after and not (label == "engine" and None in (before, after)):
            context.append({"what": label, "a": before, "b": after})
    warnings = []
    changed = {c["what"]: c for c in context}
    if "runtime" in changed:
        warnings.append(f"these results come from different runtimes ({changed['runtime']['a']} "
                        f"and {changed['runtime']['b']}): their figures are not directly "
                        "comparable")
    elif "engine" in changed:
        warnings.append(f"these results come from different Docker engines "
                        f"({changed['engine']['a']} and {changed['engine']['b']}): their "
                        "figures are not directly comparable")
    latency_a, latency_b = _latency_by_server(a), _latency_by_server(b)
    changes = []
    for server in sorted(set(latency_a) & set(latency_b)):
        for path in sorted(set(latency_a[server]) & set(latency_b[server])):
            for mode in sorted(set(latency_a[server][path]) & set(latency_b[server][path])):
                sa = latency_a[server][path][mode].get("summary")
                sb = latency_b[server][path][mode].get("summary")
                if not sa or not sb:
                    continue
                beyond_noise = not stats.overlaps(stats.Summary(**sa), stats.Summary(**sb))
                changes.append({
                    "server": server, "path": path, "connection": mode,
                    "p50_a": sa["p50"], "p50_b": sb["p50"],
                    "p50_change_pct": round(100 * (sb["p50"] - sa["p50"]) / sa["p50"], 1)
                    if sa["p50"] else None,
                    "p99_a": sa["p99"], "p99_b": sb["p99"],
                    "beyond_noise": beyond_noise,
                })
    load_a, load_b = _load_by_server(a), _load_by_server(b)
    load_changes = []
    for server in sorted(set(load_a) & set(load_b)):
        ra, rb = load_a[server].get("requests_per_s"), load_b[server].get("requests_per_s")
        if ra and rb:
            load_changes.append({"server": server, "rps_a": ra, "rps_b": rb,
                                 "rps_change_pct": round(100 * (rb - ra) / ra, 1)})
    only = sorted(set(latency_a) ^ set(latency_b))
    return {"schema": DIFF_SCHEMA, "a": a.get("id"), "b": b.get("id"), "context": context, "warnings": warnings,
            "latency": changes, "load": load_changes, "only_in_one": only}
