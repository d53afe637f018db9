"""labctl across two engines that are two machines in all but hardware (tests/second_engine.py).

The ssh tests (test_remote_engine.py) reach this machine's one engine by another road, so labctl
rightly calls both ends the same engine. Here the second engine has its own engine ID, host name,
bridge and interfaces, and is reached only across a veth pair: what `--client-context` and a
remote DOCKER_HOST meet on two real machines. Servers run on one engine, the probe and wrk on the
other; the traffic is counted on the veth; nothing is published beyond its addresses, and nothing
is left on either engine.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import second_engine
from conftest import labctl, started_by
from second_engine import ENDPOINT, ENGINE_ADDRESS, HOST_ADDRESS, HOST_NAME, SecondEngine

pytestmark = pytest.mark.docker

ELSEWHERE = "labctl-elsewhere"     # a Docker context for the second engine
HERE = "labctl-here"               # and one for this machine's own engine
FIRST_ENDPOINT = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _images_the_other_engine_needs() -> tuple[str, ...]:
    """Build (or reuse) on the first engine what labctl would otherwise build on the second:
    the Go server, the libcurl probe and wrk. Their tags."""
    from labctl import servers
    from labctl.measure.loadgen import WRK_IMAGE_TAG
    from labctl.measure.loadgen.generators import ContainerWrk
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.probe_container import PROBE_IMAGE_TAG, ProbeContainer

    runtime = DockerRuntime()
    go = servers.get("go")
    runtime.prepare(go)
    ProbeContainer(runtime, "this machine").prepare()
    ContainerWrk(runtime).prepare()
    return go.image_tag, PROBE_IMAGE_TAG, WRK_IMAGE_TAG


@pytest.fixture(scope="module")
def elsewhere(_engine, tmp_path_factory):
    """The second engine, running, with the images copied; and a HOME whose Docker contexts
    name both engines. Torn down, network and all, after the module."""
    import docker

    first, problem = _engine
    if first is None:
        pytest.skip(f"no Docker engine: {problem}")      # a failure under LABCTL_REQUIRE_DOCKER=1
    missing = second_engine.missing_requirement()
    if missing:
        pytest.skip(f"a second engine {missing}")
    tags = _images_the_other_engine_needs()
    engine = SecondEngine()
    engine.start()
    try:
        engine.copy_images(*tags)
        home = tmp_path_factory.mktemp("two-machines")
        for name, endpoint in ((ELSEWHERE, ENDPOINT), (HERE, FIRST_ENDPOINT)):
            subprocess.run(["docker", "context", "create", name, "--docker",
                            f"host={endpoint}"], check=True, timeout=30, capture_output=True,
                           env={**os.environ, "HOME": str(home)})
        client = docker.DockerClient(base_url=ENDPOINT)
        yield {"home": str(home), "client": client, "first": first,
               "id": client.info()["ID"]}
        client.close()
    finally:
        engine.stop()


def _labctl(elsewhere, *args: str, **env: str):
    """labctl with the contexts' HOME; its JSON document and pid, after it succeeded."""
    result = labctl(*args, "--json", "--runtime", "docker",
                    env={**os.environ, "HOME": elsewhere["home"], **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.pid


def _nothing_left(elsewhere, pid: int) -> None:
    for engine in (elsewhere["first"], elsewhere["client"]):
        assert started_by(engine, [pid]) == []


def test_the_second_engine_is_told_apart_from_this_one(elsewhere):
    first = elsewhere["first"].info()
    assert elsewhere["id"] != first["ID"]
    assert elsewhere["client"].info()["Name"] == HOST_NAME != first["Name"]
    result = labctl("doctor", "--json", env={**os.environ, "HOME": elsewhere["home"],
                                             "LABCTL_CLIENT_CONTEXT": ELSEWHERE})
    items = {item["name"]: item for item in dict(json.loads(result.stdout)["sections"])["Docker"]}
    client = items["client engine"]
    assert client["status"] == "ok" and f"context {ELSEWHERE}" in client["detail"]
    assert "the same engine" not in client["detail"]


def test_run_on_the_other_machine_measures_next_to_the_server(elsewhere):
    document, pid = _labctl(elsewhere, "run", "go", "--samples", "10", "--warmup", "2",
                            DOCKER_HOST=ENDPOINT)
    engine = document["runtime"]["engine"]
    assert engine["remote"] is True and engine["endpoint"] == ENDPOINT
    assert engine["machine"] == ENGINE_ADDRESS
    assert engine["id"] == elsewhere["id"] and engine["name"] == HOST_NAME
    assert f"engine {ENGINE_ADDRESS}" in document["probe"]["where"]
    assert document["verification"]["status"] == "pass"
    for by_mode in document["endpoints"].values():
        for series in by_mode.values():
            assert series["samples"] == 10 and series["summary"]["p50"] > 0
    _nothing_left(elsewhere, pid)


def _two_machines(document, client_id: str, server_address: str) -> None:
    between = document["between_engines"]
    assert between["same_engine"] is False
    assert between["client_engine"]["id"] == client_id != between["server_engine"]["id"]
    assert between["server_address"] == server_address


def test_servers_here_client_elsewhere_run_and_load_cross_the_veth(elsewhere):
    address = {"LABCTL_SERVER_ADDRESS": HOST_ADDRESS}
    document, pid = _labctl(elsewhere, "run", "go", "--samples", "10", "--warmup", "2",
                            "--client-context", ELSEWHERE, **address)
    _two_machines(document, elsewhere["id"], HOST_ADDRESS)
    assert document["url"].startswith(f"http://{HOST_ADDRESS}:")
    assert document["path"]["kind"] == "between-engines"
    # Not one engine: the client may use every CPU of its own machine.
    assert document["probe"]["cpus"] == ",".join(
        str(n) for n in range(elsewhere["client"].info()["NCPU"]))
    assert document["verification"]["status"] == "pass"
    _nothing_left(elsewhere, pid)

    before = second_engine.packets_across()
    document, pid = _labctl(elsewhere, "load", "go", "--duration", "2s", "--warmup", "0",
                            "--connections", "10", "--client-context", ELSEWHERE, **address)
    load = document["load"]
    assert load["target_url"].startswith(f"http://{HOST_ADDRESS}:")
    assert f"on engine {ENGINE_ADDRESS}, across the network" in \
        load["generator"]["description"]
    assert load["requests"] > 1000 and not load["all_failed"]
    # Every request and every response crossed the veth, each in at least one packet.
    assert second_engine.packets_across() - before >= 2 * load["requests"]
    _nothing_left(elsewhere, pid)


def test_compare_and_verify_with_the_client_elsewhere(elsewhere):
    document, pid = _labctl(elsewhere, "compare", "go", "--samples", "10", "--warmup", "2",
                            "--cold-starts", "1", "--client-context", ELSEWHERE,
                            LABCTL_SERVER_ADDRESS=HOST_ADDRESS)
    _two_machines(document, elsewhere["id"], HOST_ADDRESS)
    entry = document["servers"]["go"]
    assert entry["path"]["kind"] == "between-engines" and entry["measured"]
    assert HOST_ADDRESS in entry["path"]["description"]
    assert entry["latency"]["/health"]["fresh"]["summary"]["p50"] > 0
    _nothing_left(elsewhere, pid)
    checked, pid = _labctl(elsewhere, "verify", "go", LABCTL_CLIENT_CONTEXT=ELSEWHERE,
                           LABCTL_SERVER_ADDRESS=HOST_ADDRESS)
    assert f"context {ELSEWHERE}" in checked["checked_from"]
    assert checked["servers"][0]["status"] == "pass"
    _nothing_left(elsewhere, pid)


def test_servers_elsewhere_client_here(elsewhere):
    """The other way round: the servers on the second machine, published on its end of the veth
    (the host in its endpoint), the probe on this machine's engine."""
    document, pid = _labctl(elsewhere, "run", "go", "--samples", "10", "--warmup", "2",
                            "--client-context", HERE, DOCKER_HOST=ENDPOINT)
    _two_machines(document, elsewhere["first"].info()["ID"], ENGINE_ADDRESS)
    assert document["url"].startswith(f"http://{ENGINE_ADDRESS}:")
    assert "probe waiting next to the server" in document["cold_start_note"]
    assert document["verification"]["status"] == "pass"
    _nothing_left(elsewhere, pid)
