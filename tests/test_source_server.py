"""Integration: a fifth server that is not one of the four (tests/assets/stdlib-server, Python's
standard library with its own server.toml and Dockerfile) goes through run, verify and compare
with --source, on the Docker engine and on the local runtime, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "assets" / "stdlib-server"


def labctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          timeout=900, env=os.environ.copy(), stdin=subprocess.DEVNULL)


def _run_verify_compare(runtime: str) -> None:
    run = labctl("run", str(FIXTURE), "--runtime", runtime, "-n", "5", "--warmup", "1", "--json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["server"]["name"] == "stdlib"
    assert document["server"]["framework"] == "http.server"
    assert document["verification"]["status"] == "pass"

    verify = labctl("verify", "--source", str(FIXTURE), "--runtime", runtime, "--json")
    assert verify.returncode == 0, verify.stderr
    checks = json.loads(verify.stdout)
    assert [entry["server"] for entry in checks["servers"]] == ["stdlib"]
    assert checks["servers"][0]["status"] == "pass"

    compare = labctl("compare", "go", "--source", str(FIXTURE), "--runtime", runtime,
                     "--samples", "10", "--warmup", "1", "--cold-starts", "1", "--json")
    assert compare.returncode == 0, compare.stderr
    both = json.loads(compare.stdout)["servers"]
    assert set(both) == {"go", "stdlib"}
    assert both["stdlib"]["measured"] is True and both["go"]["measured"] is True
    assert both["stdlib"]["concurrency"] == "one thread per connection (ThreadingHTTPServer)"


@pytest.mark.docker
def test_a_fifth_server_on_docker(docker_engine, leftover_containers):
    from labctl import servers
    from labctl.runtime.process import alive_text

    try:
        _run_verify_compare("docker")
        # The engine is shared: only containers whose labctl has exited can be this test's.
        assert [c.name for c in leftover_containers()
                if not alive_text(c.labels.get("labctl.pid"))] == []
        image = docker_engine.images.get(servers.load_folder(FIXTURE).image_tag)
        assert image.labels.get("labctl") == "1"
    finally:
        import docker

        try:
            docker_engine.images.remove(servers.load_folder(FIXTURE).image_tag, force=True)
        except docker.errors.ImageNotFound:
            pass   # the build itself failed


@pytest.mark.local
def test_a_fifth_server_on_the_local_runtime():
    from labctl.runtime.local import LocalRuntime

    _run_verify_compare("local")
    assert LocalRuntime()._states() == []   # every process stopped, every state file gone
