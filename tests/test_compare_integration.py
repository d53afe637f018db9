"""Integration on the real engine: compare end to end, verification of a broken server, and
saved results listed, shown and diffed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labctl import servers
from labctl.servers import Server

pytestmark = pytest.mark.docker

ASSETS = Path(__file__).parent / "assets"


def labctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          timeout=1200, env=os.environ.copy(), stdin=subprocess.DEVNULL)


def check_shape(value, shape, where="document"):
    """A small structural schema check: dict shapes, list/type leaves."""
    if isinstance(shape, dict):
        assert isinstance(value, dict), f"{where} is not an object"
        for key, sub in shape.items():
            assert key in value, f"{where}.{key} is missing"
            check_shape(value[key], sub, f"{where}.{key}")
    elif isinstance(shape, type) or isinstance(shape, tuple):
        assert isinstance(value, shape), f"{where} is {type(value).__name__}, expected {shape}"


SUMMARY = {k: (int, float) for k in ("count", "min", "p50", "p90", "p99", "max", "mean",
                                    "p50_low", "p50_high")}
SERIES = {"unit": str, "samples": int, "non_2xx": int, "errors": int, "summary": SUMMARY,
          "phases_p50": {"connect_us": (int, float), "ttfb_us": (int, float)}}
SERVER_ENTRY = {
    "name": str, "language": str, "framework": str, "framework_version": str, "processes": int,
    "concurrency": str, "build": {"artifact": str, "built": bool, "seconds": (int, float)},
    "path": {"kind": str, "description": str},
    "limits": {"cpus": (int, float), "memory_mb": int},
    "verification": {"server": str, "status": str, "checks": list},
    "idle_memory_bytes": int, "measured": bool,
    "latency": {p: {"fresh": SERIES, "keepalive": SERIES} for p in ("/", "/health")},
    "cold_start_ms": {"median": (int, float), "samples": list},
}
COMPARE_SHAPE = {
    "schema": str, "id": str, "created": str,
    "runtime": {"runtime": str, "engine_version": str},
    "host": {"cpu": str, "cores": int, "labctl_version": str, "source_revision": str},
    "limits": {"cpus": (int, float), "memory_mb": int},
    "parameters": {"samples": int, "warmup_discarded": int, "cold_starts": int, "paths": list,
                   "interleaved": bool},
    "servers": dict,
    "analysis": {"ratios": dict, "ties": list, "reading": list},
}


def test_compare_two_servers_end_to_end(docker_engine, leftover_containers, tmp_path):
    svg = tmp_path / "compare.svg"
    result = labctl("compare", "go", "node", "--json", "--samples", "30", "--cold-starts", "2",
                    "--runtime", "docker", "--svg", str(svg))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    check_shape(document, COMPARE_SHAPE)
    assert document["schema"] == "labctl.compare/1"
    assert list(document["servers"]) == ["go", "node"]
    for name, entry in document["servers"].items():
        check_shape(entry, SERVER_ENTRY, f"servers.{name}")
        assert entry["path"]["kind"] == "bridge"
        assert entry["verification"]["status"] == "pass"
        assert len(entry["cold_start_ms"]["samples"]) == 2
        assert entry["limits"] == document["limits"]   # the same limits for every server
    ratios = document["analysis"]["ratios"]["/health fresh"]
    assert min(ratios["p50_ratio"].values()) == 1.0
    assert svg.read_text().startswith("<svg")
    assert leftover_containers() == []

    # Saved, listed, shown and diffed.
    listing = json.loads(labctl("results", "--json").stdout)["results"]
    assert listing[0]["id"] == document["id"] and listing[0]["kind"] == "compare"
    shown = json.loads(labctl("results", "show", document["id"][:20], "--json").stdout)
    assert shown == document
    again = labctl("compare", "go", "--json", "--samples", "20", "--cold-starts", "1",
                   "--runtime", "docker")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    diff = labctl("results", "diff", document["id"], second["id"], "--json")
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)
    assert {c["what"] for c in changes["context"]} >= {"samples"}
    assert {c["server"] for c in changes["latency"]} == {"go"}
    assert changes["only_in_one"] == ["node"]
    text = labctl("results", "diff", document["id"], "latest")
    assert text.returncode == 0 and "samples: 30 → 20" in text.stdout


def test_verify_catches_a_broken_server(docker_engine, leftover_containers):
    from labctl import compare
    from labctl.commands.common import default_limits
    from labctl.runtime.docker import DockerRuntime

    broken = Server(
        name="broken", language="Broken", framework="fixture", aliases=(),
        greeting="Hello from Go net/http\n", source_file="broken.py",
        base_image_arg="PYTHON_IMAGE", default_base_image="python:3.12-slim",
        concurrency_model="one thread", source_override=ASSETS / "broken-server")
    runtime = DockerRuntime()
    document = compare.run_compare(
        runtime, [broken, servers.get("go")],
        compare.CompareOptions(samples=10, warmup=1, cold_starts=1,
                               limits=default_limits(1.0, 256)))
    entry = document["servers"]["broken"]
    assert entry["verification"]["status"] == "fail"
    assert entry["measured"] is False and "latency" not in entry
    failed = {c["check"]: c["reason"] for c in entry["verification"]["checks"]
              if c["status"] == "fail"}
    assert "GET /health Content-Type" in failed and "text/html" in failed["GET /health Content-Type"]
    assert "GET /health body" in failed
    assert "GET /labctl-no-such-path" in failed      # answered 200 for a missing path
    warned = [c for c in entry["verification"]["checks"] if c["status"] == "warn"]
    assert any(c["check"] == "Date changes" for c in warned)
    assert document["servers"]["go"]["measured"] is True
    assert any("Broken fixture failed its checks" in s for s in document["analysis"]["reading"])
    assert leftover_containers() == []
    docker_engine.images.remove("labctl/broken:latest", force=True)


def test_verify_command_passes_the_real_servers(docker_engine):
    result = labctl("verify", "go", "rust", "--json", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [s["status"] for s in document["servers"]] == ["pass", "pass"]
