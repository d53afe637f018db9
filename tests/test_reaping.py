"""Reaping everywhere: every command that touches servers removes what a killed labctl left, and
two labctl processes running at once leave each other's servers alone.

The first tests need no engine and no toolchain: a plain ``sleep`` stands in for a local server,
registered in the local runtime's state directory the way ``LocalRuntime.start`` registers one.
The Docker tests kill a real ``labctl run`` with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import default_sigint

from labctl import paths
from labctl.runtime.process import start_time


def labctl(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def fake_local_server(owner_pid: int, owner_started: str | None) -> tuple[subprocess.Popen, Path]:
    """A process group registered as a local server owned by ``owner_pid``."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    folder = paths.state_dir() / "local"
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / f"test{process.pid}-go.json"
    state.write_text(json.dumps({
        "pid": process.pid, "labctl_pid": owner_pid, "labctl_started": owner_started,
        "server": "go", "url": "http://127.0.0.1:1", "keep": False,
        "log": str(folder / f"test{process.pid}-go.log"), "command": ["sleep", "300"]}))
    return process, state


def gone(process: subprocess.Popen, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return process.poll() is not None


@pytest.mark.serial   # bounds by the clock how soon the reaped server is gone
@pytest.mark.parametrize("command", [["servers", "--runtime", "local"], ["doctor", "--json"],
                                     ["logs", "go", "--runtime", "local"], ["results", "show", "x"]])
def test_every_server_command_reaps_a_dead_labctls_local_server(command):
    server, state = fake_local_server(dead_pid(), None)
    try:
        result = labctl(*command)
        assert "Traceback" not in result.stderr
        if command[0] == "results":
            # A learning command: no engine round trip, nothing reaped.
            assert server.poll() is None and state.exists()
            return
        assert "left by a labctl that no longer runs" in result.stderr, result.stderr
        assert gone(server) and not state.exists()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.serial   # bounds by the clock how soon the reaped server is gone
def test_a_live_labctls_server_is_left_alone_and_a_recycled_pid_is_not_mistaken_for_it():
    # Owned by this (live) test process: another labctl must not touch it.
    mine, mine_state = fake_local_server(os.getpid(), start_time(os.getpid()))
    # Owned by "this pid" but a process that started at another time: the pid was recycled.
    recycled, recycled_state = fake_local_server(os.getpid(), "1")
    try:
        result = labctl("servers", "--runtime", "local")
        assert result.returncode == 0, result.stderr
        assert mine.poll() is None and mine_state.exists()
        assert gone(recycled) and not recycled_state.exists()
    finally:
        for process in (mine, recycled):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        mine_state.unlink(missing_ok=True)


# --- on the real engine --------------------------------------------------------------------------

def running_labctl(*args: str) -> subprocess.Popen:
    """A labctl in the background that a test may interrupt (SIGINT at its default)."""
    return subprocess.Popen([sys.executable, "-m", "labctl", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                            preexec_fn=default_sigint)


def containers_of(engine, pid: int) -> list:
    return engine.containers.list(all=True, filters={"label": f"labctl.pid={pid}"})


def wait_for(predicate, what: str, process: subprocess.Popen, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while not (found := predicate()):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:g} s"
        time.sleep(0.1)
    return found


@pytest.mark.docker
def test_kill_9_during_run_then_servers_removes_the_container(docker_engine):
    assert labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker").returncode == 0
    process = running_labctl("run", "go", "--samples", "100000", "--runtime", "docker")
    try:
        container = wait_for(lambda: [c for c in containers_of(docker_engine, process.pid)
                                      if c.status == "running"], "server container", process)[0]
    finally:
        process.kill()
        process.wait()
    result = labctl("servers")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert container.name in result.stderr
    assert containers_of(docker_engine, process.pid) == []


@pytest.mark.docker
def test_two_labctls_at_once_leave_each_other_alone_and_both_clean_up(docker_engine):
    assert labctl("run", "go", "--samples", "1", "--warmup", "0", "--runtime", "docker").returncode == 0
    first = running_labctl("run", "go", "--samples", "100000", "--runtime", "docker")
    second = running_labctl("run", "go", "--samples", "100000", "--runtime", "docker")
    try:
        for process in (first, second):
            wait_for(lambda p=process: [c for c in containers_of(docker_engine, p.pid)
                                        if c.status == "running"], "server container", process)
        # Each one's start reaped orphans, and so does this third command: none is touched.
        assert labctl("servers").returncode == 0
        for process in (first, second):
            assert len(containers_of(docker_engine, process.pid)) == 1
            assert process.poll() is None
        for process in (first, second):
            process.send_signal(signal.SIGINT)
        for process in (first, second):
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 130 and "Traceback" not in stderr, stderr
            assert containers_of(docker_engine, process.pid) == []
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait()
