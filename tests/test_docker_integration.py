"""Integration: the four real servers built and run on the real Docker engine, through the real
labctl command line. Nothing is faked here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import interrupt_when_ready, labctl_containers

from labctl import servers

pytestmark = pytest.mark.docker

RUN_TIMEOUT_S = 1200   # a first Rust build on 2 cores takes minutes


def labctl(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy(), stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("name", servers.NAMES)
def test_run_builds_checks_times_and_removes(name, docker_engine, leftover_containers):
    result = labctl("run", name, "--json", "--samples", "20", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)   # stdout holds the JSON document and nothing else

    assert document["schema"] == "labctl.run/1"
    assert document["server"]["name"] == name
    assert document["runtime"]["runtime"] == "docker"
    checks = {c["check"]: c for c in document["verification"]["checks"]}
    for check in ("GET / status", "GET / Content-Type", "GET / body", "GET /health status",
                  "GET /health Content-Type", "GET /health body", "GET /labctl-no-such-path",
                  "GET / framing", "GET / Date", "Date changes"):
        assert checks[check]["status"] == "pass", checks[check]
    assert document["verification"]["status"] == "pass"

    # Linux: the bridge IP, not docker-proxy's published port.
    assert document["path"]["kind"] == "bridge"
    assert document["url"].startswith("http://127.0.0.1:")
    assert 0 < document["cold_start_ms"] < 60_000
    for path in ("/", "/health"):
        for mode in ("fresh", "keepalive"):
            series = document["endpoints"][path][mode]
            summary = series["summary"]
            assert series["samples"] == 20 and series["errors"] == 0 and series["non_2xx"] == 0
            assert summary["min"] <= summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"]
    # Graceful stop: SIGTERM ends the server well inside docker's grace period.
    assert document["stop_seconds"] < 1.5, f"{name} took {document['stop_seconds']} s to stop"
    assert leftover_containers() == []


@pytest.mark.parametrize("name", servers.NAMES)
def test_image_is_small_non_root_and_labelled(name, docker_engine):
    labctl("run", name, "--json", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    image = docker_engine.images.get(servers.get(name).image_tag)
    user = image.attrs["Config"].get("User") or ""
    assert user and not user.startswith(("0", "root")), f"{name} runs as {user!r}"
    assert image.labels.get("org.labctl.server") == name
    if name in ("go", "rust"):
        assert image.attrs["Size"] <= 15_000_000, f"{name} image is {image.attrs['Size']} bytes"


def test_sigint_during_run_leaves_nothing_behind(docker_engine, leftover_containers):
    labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")   # built
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl", "run", "go", "--samples", "100000", "--runtime", "docker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    stderr = interrupt_when_ready(
        process, lambda: [c for c in leftover_containers() if c.status == "running"],
        "server container")
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert leftover_containers() == []


def test_keep_then_logs_then_down(docker_engine, leftover_containers):
    result = labctl("run", "go", "--keep", "--json", "--samples", "2", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    url = json.loads(result.stdout)["url"]
    kept = leftover_containers()
    assert len(kept) == 1 and kept[0].status == "running"
    # A later labctl (which reaps orphans first) leaves a server kept on purpose alone.
    later = labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    assert later.returncode == 0, later.stderr
    assert [c.id for c in leftover_containers()] == [kept[0].id]
    logs = labctl("logs", "go", "--runtime", "docker")
    assert logs.returncode == 0 and "listening" in logs.stdout.lower()
    import httpx

    assert httpx.get(url + "/health", trust_env=False).json() == {"status": "ok"}
    down = labctl("down")
    assert down.returncode == 0 and kept[0].name in down.stdout
    assert leftover_containers() == []
    assert labctl_containers(docker_engine) == []


def test_orphan_container_of_a_dead_labctl_is_reaped(docker_engine, leftover_containers):
    labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    # A container labelled as started by a labctl process that no longer exists.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    docker_engine.containers.run(
        "labctl/go:latest", detach=True, name="labctl-go-orphan",
        labels={"labctl": "1", "labctl.server": "go", "labctl.pid": str(dead.pid),
                "labctl.host": socket.gethostname(), "labctl.session": "dead"})
    result = labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    assert "labctl-go-orphan" in result.stderr
    assert leftover_containers() == []


def _layer_cached(stream_lines: list[str], marker: str) -> bool:
    """True when the step whose instruction contains ``marker`` was served from the cache."""
    for index, line in enumerate(stream_lines):
        if line.startswith("Step ") and marker in line:
            following = stream_lines[index + 1: index + 3]
            return any("Using cache" in f for f in following)
    raise AssertionError(f"no step containing {marker!r} in the build output")


@pytest.mark.parametrize("name,dependency_step", [("rust", "cargo build"),
                                                  ("node", "npm ci"),
                                                  ("python", "pip install")])
def test_editing_the_source_keeps_the_dependency_layer(name, dependency_step, docker_engine,
                                                        tmp_path):
    from labctl.runtime.docker import DockerRuntime

    server = servers.get(name)
    runtime = DockerRuntime()
    runtime.prepare(server)
    copy = tmp_path / name
    shutil.copytree(server.source_dir, copy, ignore=shutil.ignore_patterns(
        "target", "node_modules", ".venv", "__pycache__"))
    source = copy / server.source_file
    source.write_text(source.read_text() + ("\n// edited\n" if name != "python" else "\n# edited\n"))
    lines: list[str] = []
    runtime.build_image(copy, f"labctl-test/{name}-edited:latest", runtime.base_images(server),
                        lines.append, rebuild=True, what=f"edited {server.title}")
    try:
        assert _layer_cached(lines, dependency_step), "\n".join(lines)
    finally:
        docker_engine.images.remove(f"labctl-test/{name}-edited:latest", force=True)


def test_a_rebuild_removes_the_image_it_replaced(docker_engine, tmp_path):
    from labctl.runtime.docker import DockerRuntime

    go = servers.get("go")
    runtime = DockerRuntime()
    copy = tmp_path / "go"
    shutil.copytree(go.source_dir, copy)
    tag = "labctl-test/go-rebuilt:latest"
    args = runtime.base_images(go)
    try:
        first = runtime.build_image(copy, tag, args, None, rebuild=False, what="Go copy")
        (copy / "main.go").write_text((copy / "main.go").read_text() + "\n// changed\n")
        second = runtime.build_image(copy, tag, args, None, rebuild=False, what="Go copy")
        assert second.built and second.details["image_id"] != first.details["image_id"]
        import docker

        with pytest.raises(docker.errors.ImageNotFound):
            docker_engine.images.get(first.details["image_id"])
    finally:
        docker_engine.images.remove(tag, force=True)


def _fixture_server(name: str) -> servers.Server:
    from pathlib import Path

    return servers.Server(
        name=name, language="Fixture", framework=name, aliases=(), greeting="",
        source_file="Dockerfile", base_image_arg="PYTHON_IMAGE",
        default_base_image="python:3.12-slim", concurrency_model="none",
        source_override=Path(__file__).parent / "assets" / name)


def test_a_server_that_exits_during_start_up_shows_its_logs(docker_engine, leftover_containers):
    from labctl.errors import LabctlError
    from labctl.runtime.base import Limits
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.lifecycle import running

    crash = _fixture_server("crash-server")
    runtime = DockerRuntime()
    runtime.prepare(crash)
    with pytest.raises(LabctlError) as caught:
        with running(runtime, crash, Limits(), health_timeout_s=30):
            pass
    assert "exited during start-up" in caught.value.message
    assert "DATABASE_URL is not set" in caught.value.details
    assert leftover_containers() == []
    docker_engine.images.remove(crash.image_tag, force=True)


def test_a_failing_build_names_the_step_and_shows_the_output(docker_engine):
    from labctl.errors import LabctlError
    from labctl.runtime.docker import DockerRuntime

    broken = _fixture_server("broken-build")
    with pytest.raises(LabctlError) as caught:
        DockerRuntime().prepare(broken)
    import re

    assert re.search(r"Step 3/\d+ : RUN echo", caught.value.message)
    assert "returned a non-zero code: 7" in caught.value.message
    assert re.search(r"failing step: Step 3/\d+ : RUN", caught.value.details)
    assert "error: something is missing" in caught.value.details


def test_auto_uses_local_when_the_engine_cannot_get_a_base_image(docker_engine, monkeypatch):
    from labctl import runtime

    monkeypatch.setenv("LABCTL_GO_IMAGE", "labctl-test/no-such-image:never")
    said = []
    chosen = runtime.select("auto", announce=said.append)
    assert chosen.name == "local"
    assert said and "labctl-test/no-such-image:never" in said[0]
    monkeypatch.delenv("LABCTL_GO_IMAGE")
