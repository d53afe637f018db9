"""Integration: the four servers built and run as native processes (no Docker), end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import answers

from labctl import paths, servers
from labctl.runtime.local import STOP_GRACE_S
from labctl.runtime.process import alive

pytestmark = pytest.mark.local

TIMEOUT_S = 1200


def labctl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, env=env or os.environ.copy(), stdin=subprocess.DEVNULL)


def source_files() -> set[str]:
    root = paths.servers_dir()
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def state_files() -> list[Path]:
    """State files and logs of local servers: none may outlive the server."""
    return [p for p in (paths.state_dir() / "local").glob("*") if p.suffix in (".json", ".log")]


@pytest.mark.parametrize("name", servers.NAMES)
def test_run_on_the_local_runtime(name):
    before = source_files()
    result = labctl("run", name, "--runtime", "local", "--json", "--samples", "10")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["runtime"]["runtime"] == "local"
    assert document["verification"]["status"] == "pass", document["verification"]
    assert document["path"]["kind"] == "loopback"
    assert document["endpoints"]["/health"]["keepalive"]["summary"]["p50"] > 0
    # SIGTERM ended it inside the grace period (a server ignoring it is killed only after).
    assert document["stop_seconds"] < STOP_GRACE_S, f"{name} took {document['stop_seconds']} s"
    # Build products live in the cache, never in the source tree.
    assert source_files() == before
    assert Path(document["build"]["build_dir"]).is_relative_to(paths.cache_dir())
    assert state_files() == []


def test_a_second_run_reuses_the_build():
    labctl("run", "go", "--runtime", "local", "--samples", "1", "--warmup", "0")
    result = labctl("run", "go", "--runtime", "local", "--json", "--samples", "1", "--warmup", "0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["build"]["built"] is False


def test_auto_uses_local_when_docker_host_is_dead(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
    env.pop("LABCTL_RUNTIME", None)
    result = labctl("run", "go", "--json", "--samples", "2", env=env)
    assert result.returncode == 0, result.stderr
    assert "runtime: local" in result.stderr
    assert json.loads(result.stdout)["runtime"]["runtime"] == "local"


def test_compare_on_the_local_runtime():
    result = labctl("compare", "go", "node", "--runtime", "local", "--json", "--samples", "20",
                    "--cold-starts", "2")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "labctl.compare/1"
    assert document["runtime"]["runtime"] == "local"
    assert set(document["servers"]) == {"go", "node"}
    for entry in document["servers"].values():
        assert entry["measured"] and entry["verification"]["status"] == "pass"
        assert len(entry["cold_start_ms"]["samples"]) == 2
        assert entry["idle_memory_bytes"] > 0
    assert document["analysis"]["reading"]
    assert state_files() == []


def test_a_server_left_by_a_killed_labctl_is_reaped():
    labctl("run", "go", "--runtime", "local", "--samples", "1", "--warmup", "0")   # built
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl", "run", "go", "--runtime", "local", "--samples", "100000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not [p for p in state_files() if p.suffix == ".json"]:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    state = json.loads(next(p for p in state_files() if p.suffix == ".json").read_text())
    while not answers(state["url"] + "/health"):   # the server is up: labctl is using it
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)   # no clean-up can run
    process.wait()
    assert alive(state["pid"])            # the server outlived it: its own process group
    result = labctl("run", "go", "--runtime", "local", "--samples", "1", "--warmup", "0")
    assert result.returncode == 0, result.stderr
    assert "left by a labctl that no longer runs" in result.stderr
    # Gone: not running (a zombie waiting for init to collect it counts as gone).
    deadline = time.monotonic() + 5
    while alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(state["pid"])
    assert state_files() == []


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_local_server_runs_on_the_cpus_it_was_given(where):
    """The local runtime's one real limit: the server process may run only on its CPU set."""
    from labctl.runtime.base import Limits
    from labctl.runtime.lifecycle import running
    from labctl.runtime.local import LocalRuntime

    usable = sorted(os.sched_getaffinity(0))
    cpu = usable[0] if where == "first" else usable[-1]
    runtime = LocalRuntime()
    with running(runtime, servers.get("go"), Limits(cpus=1.0, cpuset=str(cpu))) as instance:
        assert os.sched_getaffinity(int(instance.ident)) == {cpu}
        assert instance.limits.cpuset == str(cpu) and instance.limits.cpus == 1.0
