"""Integration: the four real servers built and run on the real Docker engine, through the real
labctl command line. Nothing is faked here."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
from conftest import (
    RUN_TOKEN,
    answers,
    interrupt_when_ready,
    labctl,
    start_labctl,
    started_by,
)
from test_contracts import assert_conforms

from labctl import servers
from labctl.runtime.docker import STOP_GRACE_S

pytestmark = pytest.mark.docker

# Far above a healthy container start on this machine (0.3-1.5 s), far below what a start-up
# that hangs, or a health poll that backs off to seconds, would take.
COLD_START_CEILING_MS = 10_000


@pytest.mark.parametrize("name", servers.NAMES)
def test_run_builds_checks_times_and_removes(name, docker_engine, leftover_containers):
    result = labctl("run", name, "--json", "--samples", "20", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)   # stdout holds the JSON document and nothing else

    assert_conforms(document)
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
    # A cold start includes at least one answered request, and is not a hang.
    fastest_health_ms = document["endpoints"]["/health"]["fresh"]["summary"]["min"] / 1000
    assert fastest_health_ms < document["cold_start_ms"] < COLD_START_CEILING_MS
    for path in ("/", "/health"):
        for mode in ("fresh", "keepalive"):
            series = document["endpoints"][path][mode]
            summary = series["summary"]
            assert series["samples"] == 20 and series["errors"] == 0 and series["non_2xx"] == 0
            assert summary["min"] <= summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"]
    # Graceful stop: SIGTERM ends the server inside docker's grace period; a server that ignored
    # it would be killed only once the grace period is over.
    assert document["stop_seconds"] < STOP_GRACE_S, f"{name} took {document['stop_seconds']} s"
    assert leftover_containers() == []


@pytest.mark.parametrize("name", servers.NAMES)
def test_image_is_small_non_root_and_labelled(name, docker_engine):
    result = labctl("run", name, "--json", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    # The image this run used, not whatever image carries the tag by now.
    image_id = json.loads(result.stdout)["build"]["image_id"]
    image = docker_engine.images.get(image_id)
    user = docker_engine.images.get(servers.get(name).image_tag)
    user = image.attrs["Config"].get("User") or ""
    assert user and not user.startswith(("0", "root")), f"{name} runs as {user!r}"
    assert image.labels.get("org.labctl.server") == name
    if name in ("go", "rust"):
        assert image.attrs["Size"] <= 15_000_000, f"{name} image is {image.attrs['Size']} bytes"


def test_sigint_during_run_leaves_nothing_behind(docker_engine, leftover_containers):
    built = labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    assert built.returncode == 0, built.stderr
    process = start_labctl("run", "go", "--samples", "100000", "--runtime", "docker",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def serving() -> bool:
        """Its server answers: labctl is checking or timing it (the signal, not a sleep)."""
        import docker

        for container in started_by(docker_engine, [process.pid]):
            try:
                container.reload()
            except docker.errors.NotFound:
                continue   # removed since the listing
            ip = container.attrs["NetworkSettings"]["IPAddress"]
            if container.status == "running" and ip and answers(f"http://{ip}:8080/health"):
                return True
        return False

    stderr = interrupt_when_ready(process, serving, "answering server container")
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert leftover_containers() == []


def kept_server(client, *limits: str) -> tuple[dict, object]:
    """`labctl run go --keep`: its document and its container (the only one that run started)."""
    result = labctl("run", "go", "--keep", "--json", "--samples", "2", "--runtime", "docker",
                    *limits)
    assert result.returncode == 0, result.stderr
    containers = started_by(client, [result.pid])
    assert len(containers) == 1 and containers[0].status == "running", containers
    return json.loads(result.stdout), containers[0]


def test_limits_reach_the_engine(docker_engine):
    """The container really gets the CPU set, CPU quota and memory limit the document states."""
    document, container = kept_server(docker_engine, "--cpus", "0.5", "--memory", "256")
    try:
        host_config = container.attrs["HostConfig"]
        usable = len(os.sched_getaffinity(0))
        expected_cpuset = str(usable - 1) if usable >= 2 else ""   # the last CPU, when 2+
        assert host_config["CpusetCpus"] == expected_cpuset
        assert host_config["NanoCpus"] == 500_000_000
        assert host_config["Memory"] == 256 * 1024 * 1024
        assert host_config["MemorySwap"] == 256 * 1024 * 1024   # no swap beyond the limit
        assert document["limits"] == {"cpus": 0.5, "memory_mb": 256,
                                      "cpuset": expected_cpuset or None}
    finally:
        labctl("down", "--session", container.labels["labctl.session"], "--runtime", "docker")


def test_keep_then_logs_then_down_one_session(docker_engine, leftover_containers):
    document, kept = kept_server(docker_engine)
    url = document["url"]
    # Another kept server (another session: a person's, or another test run's on this engine).
    _, other = kept_server(docker_engine)
    try:
        # A later labctl (which reaps orphans first) leaves servers kept on purpose alone.
        later = labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
        assert later.returncode == 0, later.stderr
        assert {c.id for c in leftover_containers()} == {kept.id, other.id}
        logs = labctl("logs", "go", "--runtime", "docker")
        assert logs.returncode == 0 and "listening" in logs.stdout.lower()
        import httpx

        assert httpx.get(url + "/health", trust_env=False).json() == {"status": "ok"}
        down = labctl("down", "--session", kept.labels["labctl.session"])
        assert down.returncode == 0, down.stderr
        assert kept.name in down.stdout and other.name not in down.stdout
        assert [c.id for c in leftover_containers()] == [other.id]
    finally:
        labctl("down", "--session", other.labels["labctl.session"], "--runtime", "docker")
    assert leftover_containers() == []


def test_orphan_container_of_a_dead_labctl_is_reaped(docker_engine, leftover_containers):
    from labctl.runtime.docker import DockerRuntime

    built = labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker")
    assert built.returncode == 0, built.stderr
    # A container labelled as started by a labctl process that no longer exists.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = f"labctl-go-orphan-{RUN_TOKEN}"
    orphan = docker_engine.containers.run(
        "labctl/go:latest", detach=True, name=name,
        labels={"labctl": "1", "labctl.server": "go", "labctl.pid": str(dead.pid),
                "labctl.host": socket.gethostname(), "labctl.session": "dead"})
    # Reaped in this process, at once: any labctl on this host reaps it, so a labctl of another
    # test run on the same engine, started a second later, could otherwise get there first.
    reaped = DockerRuntime().reap_orphans()
    assert name in reaped
    with pytest.raises(Exception, match="404|No such container"):
        orphan.reload()
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
    tag = f"labctl-test/{name}-edited-{RUN_TOKEN}:latest"
    try:
        runtime.build_image(copy, tag, runtime.base_images(server), lines.append, rebuild=True,
                            what=f"edited {server.title}")
        assert _layer_cached(lines, dependency_step), "\n".join(lines)
    finally:
        _remove_image(docker_engine, tag)


def _remove_image(client, tag: str) -> None:
    import docker

    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def test_a_rebuild_removes_the_image_it_replaced(docker_engine, tmp_path):
    from labctl.runtime.docker import DockerRuntime

    go = servers.get("go")
    runtime = DockerRuntime()
    copy = tmp_path / "go"
    shutil.copytree(go.source_dir, copy)
    # Content of this run only: another test run's copy must not share an image id with it.
    (copy / "main.go").write_text((copy / "main.go").read_text() + f"\n// {RUN_TOKEN}\n")
    tag = f"labctl-test/go-rebuilt-{RUN_TOKEN}:latest"
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
        _remove_image(docker_engine, tag)


def _fixture_server(name: str) -> servers.Server:
    """A fixture server from tests/assets; its name (hence image tag) is this test run's own."""
    from pathlib import Path

    return servers.Server(
        name=f"{name}-{RUN_TOKEN}", language="Fixture", framework=name, aliases=(), greeting="",
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
    _remove_image(docker_engine, crash.image_tag)


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
