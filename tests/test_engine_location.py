"""Deciding whether the Docker engine is on this machine (measure here) or elsewhere (measure
in a container next to the server), from DOCKER_HOST and Docker contexts."""

import pytest

from labctl.errors import UsageProblem
from labctl.runtime import engine

CONTEXTS = {
    "default": "unix:///var/run/docker.sock",
    "vm": "ssh://learner@build-vm",
    "desktop-linux": "unix:///home/u/.docker/desktop/docker.sock",
    "lan": "tcp://192.168.1.20:2376",
    "loop": "tcp://127.0.0.1:2375",
}


def lookup(name):
    return CONTEXTS.get(name or "default")


@pytest.mark.parametrize(("endpoint", "remote", "machine"), [
    ("unix:///var/run/docker.sock", False, "this machine"),
    ("npipe:////./pipe/docker_engine", False, "this machine"),
    ("tcp://127.0.0.1:2375", False, "this machine"),
    ("tcp://localhost:2375", False, "this machine"),
    ("tcp://[::1]:2375", False, "this machine"),
    ("tcp://10.0.0.5:2376", True, "10.0.0.5"),
    ("tcp://docker.example.org:2376", True, "docker.example.org"),
    ("https://docker.example.org:2376", True, "docker.example.org"),
    ("ssh://root@127.0.0.1", True, "127.0.0.1"),
    ("ssh://learner@vm.example:2222", True, "vm.example"),
])
def test_classify(endpoint, remote, machine):
    assert engine.classify(endpoint) == (remote, machine)


@pytest.mark.parametrize(("environ", "context", "endpoint", "remote", "source"), [
    ({}, None, "unix:///var/run/docker.sock", False, "default"),
    ({"DOCKER_HOST": "ssh://root@127.0.0.1:2222"}, None, "ssh://root@127.0.0.1:2222", True,
     "DOCKER_HOST"),
    ({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, None, "tcp://127.0.0.1:2375", False,
     "DOCKER_HOST"),
    ({"DOCKER_CONTEXT": "vm"}, None, "ssh://learner@build-vm", True, "DOCKER_CONTEXT"),
    ({"DOCKER_CONTEXT": "lan"}, None, "tcp://192.168.1.20:2376", True, "DOCKER_CONTEXT"),
    ({"DOCKER_CONTEXT": "loop"}, None, "tcp://127.0.0.1:2375", False, "DOCKER_CONTEXT"),
    # --context wins over DOCKER_HOST, as the docker CLI's does
    ({"DOCKER_HOST": "unix:///var/run/docker.sock"}, "vm", "ssh://learner@build-vm", True,
     "--context"),
    ({"DOCKER_HOST": "ssh://root@vm"}, "desktop-linux",
     "unix:///home/u/.docker/desktop/docker.sock", False, "--context"),
    # DOCKER_HOST wins over DOCKER_CONTEXT
    ({"DOCKER_HOST": "unix:///run/docker.sock", "DOCKER_CONTEXT": "vm"}, None,
     "unix:///run/docker.sock", False, "DOCKER_HOST"),
])
def test_locate(environ, context, endpoint, remote, source):
    found = engine.locate(environ, context, context_endpoint=lookup)
    assert (found.endpoint, found.remote, found.source) == (endpoint, remote, source)


def test_current_context_from_docker_config(monkeypatch):
    monkeypatch.setattr(engine, "_current", lambda _lookup: ("vm", CONTEXTS["vm"]))
    found = engine.locate({}, None, context_endpoint=lookup)
    assert found.remote and found.context == "vm" and found.source == "current context"


def test_unknown_context_is_a_usage_problem():
    with pytest.raises(UsageProblem, match="no Docker context named 'nope'"):
        engine.locate({}, "nope", context_endpoint=lookup)


@pytest.mark.parametrize(("forced", "remote", "on_engine"), [
    ("", True, True), ("", False, False), ("engine", False, True), ("here", True, False),
])
def test_where_the_probe_runs(monkeypatch, forced, remote, on_engine):
    monkeypatch.setenv(engine.MEASURE_ON_VARIABLE, forced)
    location = engine.EngineLocation(endpoint="x", remote=remote, machine="m")
    assert location.measure_on_engine is on_engine


def test_real_context_api_reads_docker_config(tmp_path, monkeypatch):
    """The docker SDK's own context store: a context created with it is found by name."""
    from docker.context import ContextAPI

    config_dir = tmp_path / ".docker"
    config_dir.mkdir()
    # The SDK puts contexts next to the config file it finds (the working directory without one).
    (config_dir / "config.json").write_text("{}")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.chdir(tmp_path)
    try:
        ContextAPI.create_context("labctl-test-vm", host="ssh://learner@vm.example")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"the SDK cannot write a context here: {exc}")
    found = engine.locate({}, "labctl-test-vm")
    assert found.remote and found.machine == "vm.example"


def test_cpu_sets_follow_a_remote_engine(monkeypatch):
    """On an engine elsewhere, servers and clients are pinned within that machine's CPUs."""
    from labctl.commands.common import default_limits
    from labctl.runtime import cpus

    monkeypatch.setattr(cpus, "_engine_cpu_count", None)
    cpus.use_engine_cpus(8)
    try:
        limits = default_limits(2.0, 512)
        assert limits.cpuset == "6,7"
        assert cpus.client_cpuset(limits) == "0,1,2,3,4,5"
    finally:
        cpus.use_engine_cpus(None)


def test_servers_get_the_last_cpus_this_process_may_use_not_the_last_numbers(monkeypatch):
    """A machine that lets labctl use CPUs 2 and 3 only (taskset, a cgroup cpuset)."""
    import os

    from labctl.commands.common import default_limits
    from labctl.runtime import cpus

    monkeypatch.setattr(cpus, "_engine_cpu_count", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {2, 3})
    limits = default_limits(1.0, 512)
    assert limits.cpuset == "3"
    assert cpus.client_cpuset(limits) == "2"


def test_memory_limits_are_checked_against_a_remote_engines_machine(monkeypatch):
    from labctl.commands.common import default_limits
    from labctl.errors import UsageProblem
    from labctl.runtime import cpus

    monkeypatch.setattr(cpus, "total_memory_mb", lambda: 24_000)
    cpus.use_engine_cpus(4, 2048)
    try:
        assert default_limits(1.0, 2000).memory_mb == 2000
        with pytest.raises(UsageProblem, match="--memory 4096: the engine's machine has 2048 MB"):
            default_limits(1.0, 4096)
    finally:
        cpus.use_engine_cpus(None)
    assert default_limits(1.0, 4096).memory_mb == 4096     # this machine's 24 GB again
