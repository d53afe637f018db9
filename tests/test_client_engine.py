"""Client and servers on two engines (--client-context): which address the servers publish on,
which engine the client runs on, and the one-line refusals. No engine: the Docker SDK is faked at
its boundary where a test needs one (tests/test_remote_engine.py runs the real thing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.errors import UsageProblem
from labctl.runtime import client_engine
from labctl.runtime.base import Limits
from labctl.runtime.client_engine import ClientEngine, ServerAddress, decide_server_address
from labctl.runtime.engine import EngineLocation

runner = CliRunner()

LOCAL = EngineLocation(endpoint="unix:///var/run/docker.sock", remote=False,
                       machine="this machine")
VM = EngineLocation(endpoint="ssh://learner@build-vm:2222", remote=True, machine="build-vm")
SSH_HERE = EngineLocation(endpoint="ssh://root@127.0.0.1:2222", remote=True, machine="127.0.0.1")
NAMES = {"build-vm": "10.0.0.5", "10.0.0.9": "10.0.0.9", "localhost": "127.0.0.1",
         "127.0.0.1": "127.0.0.1",
         "0.0.0.0": "0.0.0.0", "fd00::5": "fd00::5"}


OWN = {"192.168.1.20", "fd00::5"}     # this (pretend) machine's addresses


def decide(location, environ=None, outward="192.168.1.20"):
    return decide_server_address(location, environ or {}, resolve=NAMES.get,
                                 outward=lambda: outward, own=OWN.__contains__)


def test_an_engine_on_this_machine_publishes_on_this_machines_network_address():
    found = decide(LOCAL)
    assert found.address == "192.168.1.20" and "default route" in found.source
    # ssh to 127.0.0.1 is this machine too: its loopback is no address for another engine.
    assert decide(SSH_HERE).address == "192.168.1.20"


def test_an_engine_elsewhere_publishes_on_the_host_its_endpoint_names():
    found = decide(VM)
    assert found.address == "10.0.0.5" and "ssh://learner@build-vm:2222" in found.source
    assert found.url(32768) == "http://10.0.0.5:32768"


def test_labctl_server_address_wins_and_is_checked():
    assert decide(VM, {"LABCTL_SERVER_ADDRESS": "10.0.0.9"}).address == "10.0.0.9"
    assert decide(LOCAL, {"LABCTL_SERVER_ADDRESS": "fd00::5"}).url(80) == "http://[fd00::5]:80"
    with pytest.raises(UsageProblem, match="every interface"):
        decide(VM, {"LABCTL_SERVER_ADDRESS": "0.0.0.0"})
    with pytest.raises(UsageProblem, match="loopback"):
        decide(VM, {"LABCTL_SERVER_ADDRESS": "localhost"})
    with pytest.raises(UsageProblem, match="does not resolve"):
        decide(VM, {"LABCTL_SERVER_ADDRESS": "nowhere.invalid"})
    # With the server engine on this machine, the address must be one of its own.
    with pytest.raises(UsageProblem, match="not an address of this machine"):
        decide(LOCAL, {"LABCTL_SERVER_ADDRESS": "10.0.0.9"})
    with pytest.raises(UsageProblem, match="not an address of this machine"):
        decide(SSH_HERE, {"LABCTL_SERVER_ADDRESS": "10.0.0.9"})


def test_an_address_that_cannot_be_derived_is_one_clear_problem():
    alias = EngineLocation(endpoint="ssh://my-alias", remote=True, machine="my-alias")
    with pytest.raises(UsageProblem, match="ssh alias") as problem:
        decide(alias)
    assert "LABCTL_SERVER_ADDRESS" in (problem.value.hint or "")
    with pytest.raises(UsageProblem, match="no address but loopback"):
        decide(LOCAL, outward=None)


def _engine(*, same: bool, cpus: int = 8) -> ClientEngine:
    location = EngineLocation(endpoint="ssh://root@10.0.0.7", remote=True, machine="10.0.0.7",
                              context="lan", source="--context")
    facts = {**location.as_dict(), "name": "lan-box", "id": "B", "version": "28.2.2",
             "api_version": "1.50", "os": "linux", "cpus": cpus}
    server = {**LOCAL.as_dict(), "name": "vm", "id": "B" if same else "A", "version": "28.2.2",
              "api_version": "1.50", "os": "linux", "cpus": 2}
    return ClientEngine(runtime=cast(Any, SimpleNamespace(location=location)), context="lan",
                        server_address=ServerAddress("192.168.1.20", "from a test"),
                        same_engine=same, server_facts=server, client_facts=facts)


def test_the_client_keeps_off_the_servers_cpus_only_on_one_engine():
    limits = Limits(cpus=1, cpuset="1")
    assert _engine(same=True).cpuset(limits) == "0"          # this machine's other CPU
    assert _engine(same=False, cpus=4).cpuset(limits) == "0,1,2,3"   # all of its own
    assert _engine(same=False, cpus=0).cpuset(limits) is None


def test_every_result_says_the_network_is_in_the_figures():
    found = _engine(same=False)
    part = found.as_dict()
    assert "includes the network between two Docker engines" in part["note"]
    assert "engine 10.0.0.7 (context lan)" in part["note"] and "192.168.1.20" in part["note"]
    assert part["server_engine"]["name"] == "vm" and part["client_engine"]["cpus"] == 8
    assert "one engine" not in part["note"]
    assert "lead to one engine here" in _engine(same=True).note()
    assert "LABCTL_SERVER_ADDRESS overrides" in found.announcement()


def test_attach_records_both_engines_and_tells_one_engine_by_its_id(monkeypatch):
    from labctl.runtime import docker as docker_runtime

    facts = {"server": {"id": "X", "cpus": 2}, "client": {"id": "X", "cpus": 2}}
    monkeypatch.setattr(client_engine, "validate_context", lambda name: VM)
    monkeypatch.setattr(docker_runtime.DockerRuntime, "check", lambda self: None)
    monkeypatch.setattr(docker_runtime.DockerRuntime, "engine_facts",
                        lambda self: facts["client" if self._explicit_location else "server"])
    server = docker_runtime.DockerRuntime(location=LOCAL)
    server._explicit_location = False
    monkeypatch.setattr(client_engine, "_outward_address", lambda: "192.168.1.20")
    found = client_engine.attach(server, "vm")
    assert server.client_engine is found and found.same_engine
    assert found.runtime.location is VM and found.server_address.address == "192.168.1.20"
    facts["client"] = {"id": "Y", "cpus": 4}
    assert not client_engine.attach(server, "vm").same_engine


class _FakeContainer:
    def __init__(self, kwargs) -> None:
        self.kwargs = kwargs
        self.id = "c1"
        self.name = kwargs["name"]
        address, _ = kwargs["ports"]["8080/tcp"]
        self.attrs = {"NetworkSettings": {
            "IPAddress": "172.17.0.5",
            "Ports": {"8080/tcp": [{"HostIp": address, "HostPort": "32768"}]}}}

    def start(self) -> None:
        pass

    def reload(self) -> None:
        pass


def test_start_publishes_on_the_chosen_address_and_times_the_cold_start_as_before(monkeypatch):
    """With a client engine the server publishes on the server address (not 127.0.0.1), the
    client's URL is that published port, and the cold start keeps the bridge path."""
    from labctl.runtime import docker as docker_runtime
    from labctl.servers import get as get_server

    created = []
    fake_client = SimpleNamespace(containers=SimpleNamespace(
        create=lambda image, **kwargs: created.append(_FakeContainer(kwargs)) or created[-1]))
    monkeypatch.setenv("LABCTL_DOCKER_PATH", "bridge")
    monkeypatch.delenv("LABCTL_MEASURE_ON", raising=False)
    runtime = docker_runtime.DockerRuntime(location=LOCAL)
    runtime._client = fake_client
    plain = runtime.start(get_server("go"), Limits())
    assert created[-1].kwargs["ports"] == {"8080/tcp": ("127.0.0.1", None)}
    assert plain.url == "http://172.17.0.5:8080" and plain.path_kind == "bridge"

    runtime.publish_address = "192.168.1.20"
    runtime.client_engine = _engine(same=True)
    instance = runtime.start(get_server("go"), Limits())
    assert created[-1].kwargs["ports"] == {"8080/tcp": ("192.168.1.20", None)}
    assert instance.url == instance.public_url == "http://192.168.1.20:32768"
    assert instance.path_kind == "between-engines"
    assert "from a container on engine 10.0.0.7 (context lan)" in instance.path
    assert instance.extra["health_url"] == "http://172.17.0.5:8080"
    assert instance.extra["health_path_kind"] == "bridge"


def test_a_generator_on_this_machine_is_refused_with_a_client_engine():
    from labctl.measure import loadgen
    from labctl.measure.loadgen.generators import ContainerWrk
    from labctl.measure.loadgen.oha import ContainerOha

    runtime = SimpleNamespace(name="docker", client_engine=_engine(same=False))
    for choice in ("builtin", "host"):
        with pytest.raises(UsageProblem, match="--client-context puts the load generator"):
            loadgen.choose_generator(runtime, loadgen.LoadOptions(generator=choice))
    closed = loadgen.choose_generator(runtime, loadgen.LoadOptions(generator="auto"))
    assert isinstance(closed, ContainerWrk) and closed.docker is runtime.client_engine.runtime
    opened = loadgen.choose_generator(runtime, loadgen.LoadOptions(rate=100.0))
    assert isinstance(opened, ContainerOha) and opened.docker is runtime.client_engine.runtime


@pytest.mark.parametrize("args", [
    ["run", "go", "--client-context", "no-such-context"],
    ["compare", "go", "--client-context", "no-such-context"],
    ["load", "go", "--client-context", "no-such-context"],
    ["verify", "go", "--client-context", "no-such-context"],
])
def test_a_wrong_context_name_is_one_line_and_exit_2(args, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))          # an empty context store
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --client-context: no Docker context named "
                                    "'no-such-context'")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_the_variable_is_read_like_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setenv("LABCTL_CLIENT_CONTEXT", "from-the-variable")
    result = runner.invoke(app, ["verify", "go"])
    assert result.exit_code == 2 and "'from-the-variable'" in result.stderr


def test_local_servers_cannot_be_measured_from_another_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = runner.invoke(app, ["run", "go", "--runtime", "local", "--client-context",
                                 "default"])
    assert result.exit_code == 2
    assert "--client-context needs the servers in Docker" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_reaper_also_looks_on_the_client_engine_named_by_the_variable(monkeypatch):
    from labctl.runtime import docker as docker_runtime
    from labctl.runtime import engine, reaper
    from labctl.runtime.local import LocalRuntime

    asked = []
    monkeypatch.setattr(LocalRuntime, "reap_orphans", lambda self: [])
    monkeypatch.setattr(docker_runtime.DockerRuntime, "reap_orphans",
                        lambda self: asked.append(self._location) or [])
    monkeypatch.setattr(engine, "locate", lambda context=None: VM if context == "lan" else LOCAL)
    monkeypatch.delenv("LABCTL_CLIENT_CONTEXT", raising=False)
    reaper.reap_everywhere()
    assert asked == [None]                    # the servers' engine only
    asked.clear()
    monkeypatch.setenv("LABCTL_CLIENT_CONTEXT", "lan")
    reaper.reap_everywhere()
    assert asked == [None, VM]


def test_a_context_made_by_the_docker_cli_without_config_json_is_found(monkeypatch, tmp_path):
    """The docker SDK looks for contexts next to config.json; `docker context create` on a fresh
    machine makes the context but not that file."""
    import hashlib
    import json

    from labctl.runtime import engine

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    meta = (tmp_path / ".docker" / "contexts" / "meta" / hashlib.sha256(b"lan").hexdigest())
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": "lan", "Metadata": {},
        "Endpoints": {"docker": {"Host": "ssh://learner@client-box", "SkipTLSVerify": False}}}))
    found = engine.locate({}, "lan")
    assert found.endpoint == "ssh://learner@client-box" and found.remote
    with pytest.raises(UsageProblem):
        engine.locate({}, "other")
