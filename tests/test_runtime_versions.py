"""Results record the runtime version the server really ran, as its image or process reports it
(issue 24), on Docker and on the local runtime; the header prints it.

The expected versions come from elsewhere than the server's own image or process: the base image
labctl built it on (Docker), or the toolchain on this machine (local)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from labctl import config, servers
from labctl.runtime import pins, versions

TIMEOUT_S = 1200


def labctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, env=os.environ.copy(), stdin=subprocess.DEVNULL)


def assert_recorded(entry: dict, runtime: str, expected: str) -> None:
    assert entry["runtime"] == runtime
    assert entry["version"] == expected, entry
    assert entry["pinned"] == pins.pinned_versions()[runtime]
    assert entry["matches_pin"] is pins.agrees(pins.major_minor(expected), pins.major_minor(entry["pinned"]))


def test_version_readers_on_made_up_input():
    header = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16)
    assert versions.go_version_of(b"junk" + header + bytes([8]) + b"go1.26.8" + b"\x00rest") == "go1.26.8"
    assert versions.go_version_of(b"no build info here") is None
    assert versions.rust_version_of(b"..rustc version 1.95.0 (59807616e 2026-04-14)..") == "1.95.0"
    assert versions.interpreter_version("v20.20.2\n") == "20.20.2"
    assert versions.interpreter_version("Python 3.11.2") == "3.11.2"
    node = versions.record("node", "20.20.2", "test")
    assert node["matches_pin"] is False and "the servers pin 22" in versions.describe(node)
    assert versions.lesson_differences({"node": node}, {"node": "22"}) == [
        "node ran on Node 20.20.2, but the lesson's facts hold for Node 22: its predictions for node "
        "may not hold here"]
    go = versions.record("go", "go1.26.8", "test")
    assert go["version"] == "1.26.8" and go["matches_pin"] is True
    assert versions.lesson_differences({"go": go}, {"go": "1.26"}) == []


def _base_image_version(server_name: str, command: list[str]) -> str:
    server = servers.get(server_name)
    image = config.base_image(server.base_image_arg, server.default_base_image)
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", command[0], image,
                          *command[1:]], capture_output=True, text=True, timeout=300, check=True)
    return out.stdout.strip()


@pytest.mark.docker
@pytest.mark.parametrize("name, runtime, command", [
    ("node", "node", ["node", "--version"]),
    ("go", "go", ["go", "env", "GOVERSION"]),
])
def test_a_docker_result_records_the_runtime_the_server_ran(name, runtime, command, docker_engine,
                                                            leftover_containers):
    expected = versions.interpreter_version(_base_image_version(name, command))
    result = labctl("run", name, "--json", "--samples", "5", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["runtime"]["servers_ran"][name]
    assert_recorded(entry, runtime, expected)
    human = labctl("run", name, "--samples", "5", "--runtime", "docker")
    assert human.returncode == 0, human.stderr
    assert f"ran on {name}: {versions.describe(entry)}"[:40] in " ".join(human.stdout.split())
    assert leftover_containers() == []          # the version probe left nothing behind


@pytest.mark.local
@pytest.mark.parametrize("name, runtime, command", [
    ("node", "node", ["node", "--version"]),
    ("go", "go", ["go", "env", "GOVERSION"]),
])
def test_a_local_result_records_the_runtime_the_server_ran(name, runtime, command):
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed here")
    expected = versions.interpreter_version(subprocess.run(command, capture_output=True, text=True,
                                                           check=True).stdout)
    result = labctl("run", name, "--json", "--samples", "5", "--runtime", "local")
    assert result.returncode == 0, result.stderr
    assert_recorded(json.loads(result.stdout)["runtime"]["servers_ran"][name], runtime, expected)
