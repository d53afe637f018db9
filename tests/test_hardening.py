"""Hardened servers: what the engine really applied to a labctl container, read back with
``docker inspect`` (HostConfig), for a server and for the wrk load generator; and the scrubbed
environment and process group of a native server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import end_labctl

from labctl.runtime.local import server_environment


def labctl(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


def assert_hardened(container) -> None:
    container.reload()
    host = container.attrs["HostConfig"]
    name = container.name
    assert host["ReadonlyRootfs"] is True, name
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd"), name
    assert any(o.startswith("no-new-privileges") for o in host["SecurityOpt"] or []), name
    assert 0 < (host["PidsLimit"] or 0) <= 1024, name
    assert host.get("Privileged") is False, name
    assert "noexec" in (host.get("Tmpfs") or {}).get("/tmp", ""), name
    user = container.attrs["Config"]["User"]
    assert user and user.split(":")[0] not in ("", "0", "root"), name
    for bindings in (host.get("PortBindings") or {}).values():
        assert all(b["HostIp"] == "127.0.0.1" for b in bindings), name
    assert host.get("NetworkMode") != "host" or not host.get("PortBindings"), name


@pytest.mark.docker
@pytest.mark.parametrize("name", ["go", "python", "rust", "node"])
def test_a_kept_server_container_is_hardened_and_still_answers(docker_engine, name):
    process = subprocess.Popen([sys.executable, "-m", "labctl", "run", name, "--keep", "--json",
                                "--samples", "2", "--warmup", "0", "--runtime", "docker"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=900)
    kept = docker_engine.containers.list(filters={"label": f"labctl.pid={process.pid}"})
    try:
        assert process.returncode == 0, stderr
        assert json.loads(stdout)["verification"]["status"] == "pass"  # works read-only, as 10001
        assert len(kept) == 1
        assert_hardened(kept[0])
        if name in ("python", "node"):   # images with a shell: writing outside /tmp is refused
            assert kept[0].exec_run(["/bin/sh", "-c", "echo x > /probe"]).exit_code != 0
            assert kept[0].exec_run(["/bin/sh", "-c", "echo x > /tmp/probe"]).exit_code == 0
    finally:
        for container in kept:
            container.remove(force=True)


@pytest.mark.docker
def test_the_wrk_container_is_hardened(docker_engine):
    assert labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker").returncode == 0
    process = subprocess.Popen([sys.executable, "-m", "labctl", "load", "go", "-c", "4", "-d", "3s",
                                "--generator", "container", "--runtime", "docker"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    inspected = False
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None and not inspected:
            for container in docker_engine.containers.list(
                    all=True, filters={"label": ["labctl.role=loadgen", f"labctl.pid={process.pid}"]}):
                try:
                    assert_hardened(container)
                    inspected = True
                except Exception as exc:  # noqa: BLE001 - gone between list and inspect: retry
                    if "No such container" not in str(exc) and "404" not in str(exc):
                        raise
            time.sleep(0.05)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    finally:
        end_labctl(process)
    assert inspected, "never saw the wrk container"


def test_a_native_server_gets_a_scrubbed_environment(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-servers")
    monkeypatch.setenv("NODE_OPTIONS", "--inspect")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = server_environment("node", 4321)
    assert env["PATH"] == "/usr/bin:/bin" and env["PORT"] == "4321" and env["HOST"] == "127.0.0.1"
    assert env["NODE_ENV"] == "production"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "NODE_OPTIONS" not in env
