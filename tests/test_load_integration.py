"""Integration: `labctl load` through the real command line, on the real Docker engine (wrk in its
own container over the bridge) and on the local runtime (the host's wrk). Nothing is faked."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import interrupt_when_ready, labctl, start_labctl, started_by
from test_contracts import assert_conforms

from labctl.runtime.cpus import parse_cpuset


def left_by(client, pid: int) -> list:
    """Containers a labctl process started that still exist (other runs on a shared engine are
    not this test's business)."""
    return started_by(client, [pid])


def check_figures(load: dict) -> None:
    assert load["requests"] > 0
    assert load["requests_per_s"] > 0
    latency = load["latency_us"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"], latency
    assert load["errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert load["non_2xx"] == 0
    assert load["flagged"] is False and load["reasons"] == []


@pytest.mark.docker
def test_load_with_wrk_in_a_container_over_the_bridge(docker_engine):
    result = labctl("load", "go", "/", "-c", "20", "-d", "2s", "--warmup", "1s", "--json",
                    "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)   # stdout holds the JSON document and nothing else
    assert_conforms(document)
    assert document["schema"] == "labctl.load/1"
    assert document["server"]["name"] == "go"
    assert document["runtime"]["runtime"] == "docker"
    assert document["path"]["kind"] == "bridge"
    assert document["host"]["cores"] >= 1
    load = document["load"]
    check_figures(load)
    assert load["generator"]["name"] == "wrk" and load["generator"]["where"] == "container"
    assert "over the Docker bridge" in load["generator"]["description"]
    assert load["generator"]["version"].startswith("debian/")
    assert load["loop"] == "closed" and load["keepalive"] is True
    assert load["connections"] == 20 and load["warmup_s"] == 1.0
    assert 1.5 < load["measured_duration_s"] < 3.5
    # wrk and the server on different CPUs whenever the machine has two (never silently not).
    separable = document["host"]["cores_usable"] >= 2
    assert document["cpus"]["separated"] is separable
    if separable:
        assert load["generator"]["cpuset"] == document["cpus"]["client"]
        assert not (parse_cpuset(document["cpus"]["client"])
                    & parse_cpuset(document["cpus"]["server"]))
    assert left_by(docker_engine, result.pid) == []   # neither the server nor wrk is left
    # Kept with the other results.
    shown = labctl("results", "show", document["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["load"]["requests"] == load["requests"]
    as_text = labctl("results", "show", document["id"])
    assert as_text.returncode == 0, as_text.stderr
    assert "requests/s" in as_text.stdout


@pytest.mark.docker
def test_compare_with_load_uses_the_same_generator(docker_engine):
    result = labctl("compare", "go", "--load", "-c", "10", "-d", "1s", "--samples", "10",
                    "--cold-starts", "1", "--json", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    load = json.loads(result.stdout)["servers"]["go"]["load"]
    check_figures(load)
    assert load["generator"]["where"] == "container" and load["path"] == "/health"
    assert left_by(docker_engine, result.pid) == []


@pytest.mark.docker
def test_load_without_keepalive_as_csv(docker_engine):
    result = labctl("load", "go", "/health", "-c", "10", "-d", "1s", "--warmup", "0",
                    "--no-keepalive", "--csv", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    header, row, *rest = result.stdout.splitlines()
    assert rest == []
    values = dict(zip(header.split(","), row.split(",")))
    assert values["keepalive"] == "off" and values["generator_where"] == "container"
    assert int(values["requests"]) > 0 and values["flagged"] == "no", values
    assert left_by(docker_engine, result.pid) == []


@pytest.mark.docker
def test_sigint_during_load_removes_the_wrk_container(docker_engine):
    built = labctl("load", "go", "-c", "2", "-d", "1s", "--warmup", "0", "--runtime", "docker")
    assert built.returncode == 0, built.stderr
    process = start_labctl("load", "go", "-c", "10", "-d", "60s", "--warmup", "0",
                           "--runtime", "docker", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = interrupt_when_ready(
        process, lambda: [c for c in left_by(docker_engine, process.pid)
                          if c.labels.get("labctl.role") == "loadgen" and c.status == "running"],
        "wrk container")
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert left_by(docker_engine, process.pid) == []


@pytest.mark.local
@pytest.mark.skipif(shutil.which("wrk") is None, reason="no wrk on PATH")
@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain for the local runtime")
def test_load_with_the_host_wrk_on_the_local_runtime():
    result = labctl("load", "go", "/health", "-c", "10", "-d", "2s", "--warmup", "1s", "--json",
                    "--runtime", "local", "--generator", "host")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["runtime"]["runtime"] == "local"
    assert document["path"]["kind"] == "loopback"
    load = document["load"]
    check_figures(load)
    assert load["generator"]["name"] == "wrk" and load["generator"]["where"] == "host"
    assert load["target_url"].startswith("http://127.0.0.1:")
    assert ("pinned to CPU" in load["generator"]["description"]) is (
        document["host"]["cores_usable"] >= 2)
