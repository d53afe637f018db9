"""The path check: servers reached over the same kind of path share the kernel's TCP handshake,
so one whose connect median is far above the others' had a slow path during the run, and is not
ranked on new connections. Tested on recorded phase timings (the issue's run: Go's connect p50
956 µs against Rust's 17 µs over the same bridge); tests/test_compare_integration.py slows one
container's path for real."""

from __future__ import annotations

import json

from rich.console import Console

from labctl import compare
from labctl.measure import stats
from labctl.results import render


def _series(values: range, connect_us: float) -> dict:
    summary = stats.summarize([float(v) for v in values])
    return {"unit": "microseconds", "samples": len(values), "non_2xx": 0, "errors": 0,
            "summary": summary.as_dict(),
            "phases_p50": {"connect_us": connect_us, "ttfb_us": connect_us + 20}}


def _entry(name: str, fresh: range, connect_us: float, kind: str = "bridge") -> dict:
    latency = {p: {"fresh": _series(fresh, connect_us), "keepalive": _series(range(40, 240), 0.0)}
               for p in ("/", "/health")}
    return {"name": name, "language": name.title(), "framework": "fw", "processes": 1,
            "latency": latency, "measured": True, "path": {"kind": kind, "description": kind},
            "verification": {"status": "pass", "checks": []},
            "cold_start_ms": {"median": 100.0, "samples": [100.0]},
            "idle_memory_bytes": 1000, "build": {"size_bytes": 10, "built": False}}


def _document(*entries: dict) -> dict:
    document = {"schema": "labctl.compare/1", "runtime": {"runtime": "docker"},
                "host": {"cpu": "x", "cores": 2}, "limits": {"cpus": 1.0, "memory_mb": 512},
                "parameters": {"samples": 200, "warmup_discarded": 10, "paths": ["/", "/health"],
                               "block": 10},
                "servers": {e["name"]: e for e in entries}}
    document["analysis"] = compare.analyse(document)
    return document


def test_a_slow_path_is_flagged_and_not_ranked_on_new_connections():
    document = _document(_entry("go", range(1000, 1200), 956.0),
                         _entry("rust", range(50, 250), 17.0),
                         _entry("python", range(300, 500), 21.0),
                         _entry("node", range(150, 350), 19.0))
    analysis = document["analysis"]
    assert analysis["path_check"]["slow"] == ["go"]
    assert analysis["path_check"]["connect_p50_us"]["go"] == 956.0
    for path in ("/", "/health"):
        assert "go" not in analysis["ratios"][f"{path} fresh"]["p50_ratio"]
        assert analysis["ratios"][f"{path} fresh"]["fastest"] == "rust"
        assert "go" in analysis["ratios"][f"{path} keepalive"]["p50_ratio"]
    assert not any("go" in tie["servers"] for tie in analysis["ties"] if tie["mode"] == "fresh")
    reading = " ".join(analysis["reading"])
    assert "The network path to Go fw was slow during this run" in reading
    assert "956 µs against 19 µs" in reading
    assert "Run the comparison again" in reading
    json.loads(json.dumps(document))   # --json carries it as it is

    console = Console(width=160, record=True)
    console.print(render.render_compare(document))
    assert "slow path" in console.export_text()


def test_a_normal_spread_of_connect_times_is_not_flagged():
    document = _document(_entry("go", range(100, 300), 30.0), _entry("rust", range(90, 290), 17.0),
                         _entry("python", range(300, 500), 45.0),
                         _entry("node", range(150, 350), 26.0))
    assert document["analysis"]["path_check"]["slow"] == []
    assert set(document["analysis"]["ratios"]["/health fresh"]["p50_ratio"]) == {
        "go", "rust", "python", "node"}
    assert "slow during this run" not in " ".join(document["analysis"]["reading"])


def test_the_rule_needs_both_the_factor_and_the_margin():
    factor, margin = compare.PATH_SLOW_FACTOR, compare.PATH_SLOW_MARGIN_US
    reference = margin   # so that factor × reference is over the margin above it
    at_factor = _document(_entry("a", range(100, 300), factor * reference),
                          _entry("b", range(100, 300), reference))
    assert at_factor["analysis"]["path_check"]["slow"] == []
    above = _document(_entry("a", range(100, 300), factor * reference + 1),
                      _entry("b", range(100, 300), reference))
    assert above["analysis"]["path_check"]["slow"] == ["a"]
    # Ten times the others, but only 90 µs more: within the noise of a fast path.
    small = _document(_entry("a", range(100, 300), 100.0), _entry("b", range(100, 300), 10.0))
    assert small["analysis"]["path_check"]["slow"] == []
    at_margin = _document(_entry("a", range(100, 300), 10.0 + margin),
                          _entry("b", range(100, 300), 10.0))
    assert at_margin["analysis"]["path_check"]["slow"] == []


def test_servers_on_different_kinds_of_path_are_not_held_to_each_other():
    document = _document(_entry("go", range(100, 300), 900.0, kind="published-port"),
                         _entry("rust", range(100, 300), 17.0, kind="bridge"))
    assert document["analysis"]["path_check"]["slow"] == []


def test_a_flagged_load_test_is_said_in_the_reading():
    go = _entry("go", range(100, 300), 20.0)
    go["load"] = {"flagged": True, "requests_per_s": 10.0,
                  "reasons": ["achieved 900 req/s, short of the 1000 req/s asked for"]}
    document = _document(go, _entry("rust", range(100, 300), 20.0))
    assert ("The load test of Go fw is flagged: achieved 900 req/s, short of the 1000 req/s "
            "asked for.") in document["analysis"]["reading"]
