"""A Docker engine reached over ssh, as a cloud VM would be: DOCKER_HOST=ssh://root@127.0.0.1:PORT.

A real second path to the engine: an sshd of our own on a free loopback port (openssh-server is
installed by scripts/test, as root), a throwaway key pair under the test's tmp dir authorised
for root, and the docker SDK's ssh transport (paramiko). labctl must take the remote path: the
libcurl probe and wrk run in containers next to the servers, never through a published port;
nothing is left afterwards; the reaper and `down` judge only containers started from here.
The same ssh path as a Docker context runs the client on a second engine (--client-context).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import STRICT, end_labctl

pytestmark = pytest.mark.docker

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
COMMAND_TIMEOUT_S = 900


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True,
                   timeout=30)


@pytest.fixture(scope="module")
def ssh_engine(tmp_path_factory, _engine):
    """The environment that makes labctl talk to this machine's engine over ssh."""
    if _engine[0] is None:     # the same rule as conftest's docker_engine, for a module fixture
        message = f"no Docker engine: {_engine[1]}"
        if STRICT:
            pytest.fail(f"LABCTL_REQUIRE_DOCKER=1 but {message}", pytrace=False)
        pytest.skip(message)
    if os.geteuid() != 0 or not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        pytest.skip("needs root and openssh-server (scripts/test installs it as root)")
    here = tmp_path_factory.mktemp("ssh")
    _keygen(here / "host_key")
    _keygen(here / "client_key")
    shutil.copy(here / "client_key.pub", here / "authorized_keys")
    port = _free_port()
    (here / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {here / 'host_key'}\n"
        f"AuthorizedKeysFile {here / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        f"StrictModes no\nMaxSessions 64\nPidFile {here / 'sshd.pid'}\n")
    # The client side, as a learner's ~/.ssh would have it: which key, and the known host key.
    home = here / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host 127.0.0.1\n  User root\n  IdentityFile {here / 'client_key'}\n")
    host_key = " ".join((here / "host_key.pub").read_text().split()[:2])
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    Path("/run/sshd").mkdir(exist_ok=True)   # sshd's privilege-separation directory
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(here / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(here / "sshd.log", "w"))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert sshd.poll() is None, (here / "sshd.log").read_text()
                assert time.monotonic() < deadline, "sshd did not listen within 20 s"
                time.sleep(0.1)
        yield {"HOME": str(home), "DOCKER_HOST": f"ssh://root@127.0.0.1:{port}"}
    finally:
        sshd.terminate()
        try:
            sshd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sshd.kill()


def labctl_over_ssh(env: dict, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run labctl against the ssh engine; also return its pid (the owner label of its
    containers)."""
    process = subprocess.Popen([sys.executable, "-m", "labctl", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                               env={**os.environ, **env})
    try:
        stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT_S)
    finally:
        end_labctl(process)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), process.pid


def containers_of(engine, pid: int) -> list:
    return engine.containers.list(all=True, filters={"label": [f"labctl.pid={pid}"]})


def test_run_measures_next_to_the_server(ssh_engine, docker_engine):
    result, pid = labctl_over_ssh(ssh_engine, "run", "go", "--json", "--samples", "30",
                                  "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["runtime"]["engine"]["remote"] is True
    assert document["runtime"]["engine"]["endpoint"] == ssh_engine["DOCKER_HOST"]
    # Measured over the engine's bridge from a probe container, not through a published port.
    assert document["path"]["kind"] == "engine-bridge"
    assert "next to the server on engine 127.0.0.1" in document["probe"]["where"]
    assert document["probe"]["libcurl"]
    assert document["verification"]["status"] == "pass"
    for by_mode in document["endpoints"].values():
        for series in by_mode.values():
            assert series["samples"] == 30 and series["summary"]["p50"] > 0
    # Timed by a probe that waited next to the server before it started (not an upper bound).
    assert "probe waiting next to the server" in document["cold_start_note"]
    assert "upper bound" not in document["cold_start_note"]
    assert containers_of(docker_engine, pid) == []


def test_compare_two_servers_over_ssh(ssh_engine, docker_engine):
    result, pid = labctl_over_ssh(ssh_engine, "compare", "go", "rust", "--json", "--samples",
                                  "30", "--warmup", "5", "--cold-starts", "2",
                                  "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert "next to the server on engine 127.0.0.1" in document["parameters"]["probe_where"]
    assert set(document["servers"]) == {"go", "rust"}
    for entry in document["servers"].values():
        assert entry["path"]["kind"] == "engine-bridge"
        assert entry["verification"]["status"] == "pass" and entry["measured"]
        assert entry["latency"]["/health"]["fresh"]["summary"]["p50"] > 0
        assert len(entry["cold_start_ms"]["samples"]) == 2
    assert containers_of(docker_engine, pid) == []


def test_load_over_ssh_runs_wrk_next_to_the_server(ssh_engine, docker_engine):
    result, pid = labctl_over_ssh(ssh_engine, "load", "go", "--json", "--duration", "2s",
                                  "--connections", "20", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    text = json.dumps(document)
    assert "over the Docker bridge" in text and "wrk in a container" in text
    assert containers_of(docker_engine, pid) == []
    # A generator on this machine could not reach a server on another one: one clear line.
    refused, _ = labctl_over_ssh(ssh_engine, "load", "go", "--generator", "builtin",
                                 "--duration", "1s", "--runtime", "docker")
    assert refused.returncode == 2
    assert "--generator builtin runs on this machine" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.fixture
def remote_runtime(ssh_engine, monkeypatch):
    """A DockerRuntime in this process talking over ssh, under a host name of its own, so that
    `down` and the reaper here can only ever see containers this test made."""
    for name, value in ssh_engine.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(socket, "gethostname", lambda: f"labctl-test-{os.getpid()}")
    from labctl.runtime.docker import DockerRuntime

    runtime = DockerRuntime()
    assert runtime.location.remote
    return runtime


def _labelled_container(engine, *, host: str, pid: int, machine: str | None = None):
    from labctl.runtime.docker import (
        LABEL,
        LABEL_HOST,
        LABEL_MACHINE,
        LABEL_PID,
        LABEL_SERVER,
        LABEL_SESSION,
        MACHINE_ID,
    )
    from labctl.servers import get as by_name

    labels = {LABEL: "1", LABEL_SESSION: "test", LABEL_SERVER: "go", LABEL_PID: str(pid),
              LABEL_HOST: host}
    recorded = machine or MACHINE_ID
    if recorded:
        labels[LABEL_MACHINE] = recorded
    return engine.containers.create(by_name("go").image_tag, labels=labels,
                                    name=f"labctl-test-{host}-{pid}-{time.monotonic_ns() % 10**6}")


def test_reaper_over_ssh_judges_only_pids_from_this_machine(remote_runtime, docker_engine):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = socket.gethostname()
    ours = _labelled_container(docker_engine, host=here, pid=dead.pid)
    # Same host name, another machine (a shared engine): its pid means nothing here.
    twin = _labelled_container(docker_engine, host=here, pid=dead.pid, machine="0" * 32)
    foreign = _labelled_container(docker_engine, host="another-laptop", pid=dead.pid)
    try:
        reaped = remote_runtime.reap_orphans()
        assert ours.name in reaped
        assert twin.name not in reaped and foreign.name not in reaped
        remaining = {c.id for c in docker_engine.containers.list(all=True)}
        assert ours.id not in remaining and {twin.id, foreign.id} <= remaining
    finally:
        for container in (ours, twin, foreign):
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


def test_down_over_ssh_leaves_other_machines_containers(remote_runtime, docker_engine):
    from labctl.runtime.base import Limits
    from labctl.servers import get as by_name

    kept = remote_runtime.start(by_name("go"), Limits(), keep=True)
    foreign = _labelled_container(docker_engine, host="another-laptop", pid=1)
    try:
        removed = remote_runtime.down()
        assert kept.extra["container_name"] in removed
        assert foreign.name not in removed
        remaining = {c.id for c in docker_engine.containers.list(all=True)}
        assert kept.ident not in remaining and foreign.id in remaining
    finally:
        foreign.remove(force=True)


# -- client and servers on two engines (--client-context) ---------------------------------------
#
# The ssh path becomes a Docker context of its own; the servers stay on the engine the
# environment names (the local socket). It is one engine underneath, but labctl must take the
# two-engine path: probe and wrk containers created through the ssh context (sshd logs each
# connection), servers published on this machine's network address, not 127.0.0.1, and measured
# there, not over their bridge IPs; every figure labelled as including the network.

CLIENT_CONTEXT = "labctl-test-client"


@pytest.fixture(scope="module")
def client_context(ssh_engine):
    """The environment for labctl with servers on the usual engine and the client context."""
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        pytest.skip("needs the docker CLI to create a context (docker.io installs it)")
    env = {"HOME": ssh_engine["HOME"]}
    subprocess.run([docker_cli, "context", "create", CLIENT_CONTEXT, "--docker",
                    f"host={ssh_engine['DOCKER_HOST']}"], check=True, timeout=30,
                   capture_output=True, env={**os.environ, **env})
    return {**env, "ENDPOINT": ssh_engine["DOCKER_HOST"],
            "SSHD_LOG": str(Path(ssh_engine["HOME"]).parent / "sshd.log")}


def _ssh_logins(client_context) -> int:
    return Path(client_context["SSHD_LOG"]).read_text().count("Accepted publickey")


def _two_engine_run(client_context, *args: str, variable: bool = False):
    """labctl with the client context (as the option, or as LABCTL_CLIENT_CONTEXT); its JSON
    document, after checking what every two-engine run must show."""
    env = {"HOME": client_context["HOME"]}
    if variable:
        env["LABCTL_CLIENT_CONTEXT"] = CLIENT_CONTEXT
    else:
        args = (*args, "--client-context", CLIENT_CONTEXT)
    logins = _ssh_logins(client_context)
    result, pid = labctl_over_ssh(env, *args, "--json", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    assert "every figure includes the network between the two engines" in " ".join(
        result.stderr.split())
    document = json.loads(result.stdout)
    between = document["between_engines"]
    assert "includes the network between two Docker engines" in between["note"]
    # Both engines recorded: the servers' through the environment, the client's through ssh.
    assert between["client_engine"]["endpoint"] == client_context["ENDPOINT"]
    assert between["client_engine"]["context"] == CLIENT_CONTEXT
    assert between["server_engine"]["endpoint"] != client_context["ENDPOINT"]
    for engine in (between["server_engine"], between["client_engine"]):
        assert engine["version"] and engine["cpus"] and engine["name"]
    assert between["same_engine"] is True      # one engine underneath, told by its ID
    # The client's containers were created through the ssh context.
    assert _ssh_logins(client_context) > logins
    return document, between["server_address"], pid


def _published_not_bridged(docker_engine, address: str) -> None:
    """A published address of the host: neither loopback nor inside a Docker network."""
    import ipaddress

    ip = ipaddress.ip_address(address)
    assert not ip.is_loopback and not ip.is_unspecified
    for network in docker_engine.networks.list():
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            if pool.get("Subnet"):
                assert ip not in ipaddress.ip_network(pool["Subnet"]), network.name


def test_client_context_run_measures_through_the_published_address(client_context,
                                                                     docker_engine):
    document, address, pid = _two_engine_run(client_context, "run", "go", "--samples", "5",
                                             "--warmup", "1")
    _published_not_bridged(docker_engine, address)
    assert document["path"]["kind"] == "between-engines"
    assert document["url"].startswith(f"http://{address}:")
    assert f"context {CLIENT_CONTEXT}" in document["probe"]["where"]
    assert document["probe"]["cpus"] and document["limits"]["cpuset"]   # kept apart: one engine
    assert document["verification"]["status"] == "pass"
    for by_mode in document["endpoints"].values():
        for series in by_mode.values():
            assert series["samples"] == 5 and series["summary"]["p50"] > 0
    assert document["cold_start_ms"] > 0
    assert containers_of(docker_engine, pid) == []


def test_client_context_load_sends_wrk_across_the_network(client_context, docker_engine):
    document, address, pid = _two_engine_run(client_context, "load", "go", "--duration", "2s",
                                             "--warmup", "0", "--connections", "10")
    load = document["load"]
    assert load["target_url"].startswith(f"http://{address}:")
    assert "wrk in a container" in load["generator"]["description"]
    assert f"across the network to the port published at {address}" in \
        load["generator"]["description"]
    assert load["requests"] > 0 and not load["all_failed"]
    assert document["cpus"]["separated"]
    assert containers_of(docker_engine, pid) == []


def test_client_context_compare_and_verify(client_context, docker_engine):
    document, address, pid = _two_engine_run(client_context, "compare", "go", "--samples", "10",
                                             "--warmup", "2", "--cold-starts", "1")
    entry = document["servers"]["go"]
    assert entry["path"]["kind"] == "between-engines" and entry["measured"]
    assert address in entry["path"]["description"]
    assert f"context {CLIENT_CONTEXT}" in document["parameters"]["probe_where"]
    assert entry["latency"]["/health"]["fresh"]["summary"]["p50"] > 0
    assert containers_of(docker_engine, pid) == []
    # verify, with the context given by the variable this time
    checked, _, pid = _two_engine_run(client_context, "verify", "go", variable=True)
    assert f"context {CLIENT_CONTEXT}" in checked["checked_from"]
    assert checked["servers"][0]["status"] == "pass"
    assert containers_of(docker_engine, pid) == []


def test_servers_over_ssh_client_on_the_local_socket(ssh_engine, client_context, docker_engine):
    """The other way round: servers on the ssh engine (cold start timed by a probe waiting next
    to them there), client on a context for this machine's own socket."""
    local = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    subprocess.run(["docker", "context", "create", "labctl-test-local", "--docker",
                    f"host={local}"], check=True, timeout=30, capture_output=True,
                   env={**os.environ, "HOME": ssh_engine["HOME"]})
    result, pid = labctl_over_ssh(ssh_engine, "run", "go", "--json", "--samples", "5",
                                  "--warmup", "1", "--runtime", "docker",
                                  "--client-context", "labctl-test-local")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    between = document["between_engines"]
    assert between["server_engine"]["endpoint"] == ssh_engine["DOCKER_HOST"]
    assert between["client_engine"]["endpoint"] == local and between["same_engine"]
    _published_not_bridged(docker_engine, between["server_address"])
    assert document["path"]["kind"] == "between-engines"
    assert "probe waiting next to the server" in document["cold_start_note"]
    assert document["verification"]["status"] == "pass"
    assert containers_of(docker_engine, pid) == []


def test_an_address_the_server_host_does_not_have_is_one_line(client_context, docker_engine):
    # 198.51.100.7 (RFC 5737, documentation only) is no address of this machine: refused before
    # anything starts.
    result, pid = labctl_over_ssh({"HOME": client_context["HOME"],
                                   "LABCTL_SERVER_ADDRESS": "198.51.100.7"},
                                  "verify", "go", "--runtime", "docker",
                                  "--client-context", CLIENT_CONTEXT)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "LABCTL_SERVER_ADDRESS=198.51.100.7 is not an address of " \
        "this machine" in errors[0] and "Traceback" not in result.stderr
    assert containers_of(docker_engine, pid) == []


def test_doctor_shows_the_client_engine_and_the_published_address(client_context):
    env = {"HOME": client_context["HOME"], "LABCTL_CLIENT_CONTEXT": CLIENT_CONTEXT}
    result, _pid = labctl_over_ssh(env, "doctor", "--json")
    document = json.loads(result.stdout)
    docker_items = {item["name"]: item for item in dict(document["sections"])["Docker"]}
    client = docker_items["client engine"]
    assert client["status"] == "ok" and f"context {CLIENT_CONTEXT}" in client["detail"]
    assert "the same engine as the servers'" in client["detail"]
    where = docker_items["where labctl measures"]["detail"]
    assert "includes the network between the two engines" in where
    bad, _ = labctl_over_ssh({**env, "LABCTL_CLIENT_CONTEXT": "no-such-context"}, "doctor", "--json")
    items = {item["name"]: item for item in dict(json.loads(bad.stdout)["sections"])["Docker"]}
    assert items["client engine"]["status"] == "missing"
    assert "no-such-context" in items["client engine"]["detail"]
