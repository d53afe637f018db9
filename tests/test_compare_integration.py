"""Integration on the real engine: the README's main job (all four servers compared) end to end,
its exports, verification of a broken server through the command line, and saved results
listed, shown and diffed."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RUN_TOKEN, end_labctl, labctl, start_labctl, started_by
from test_contracts import assert_conforms
from typer.testing import CliRunner

from labctl import servers
from labctl.servers import Server

pytestmark = pytest.mark.docker

ASSETS = Path(__file__).parent / "assets"


def test_compare_all_four_servers_end_to_end(docker_engine, leftover_containers, tmp_path):
    """`labctl compare`, the README's main job: the four servers, one table, every export."""
    svg, page = tmp_path / "compare.svg", tmp_path / "compare.html"
    result = labctl("compare", "--json", "--samples", "30", "--warmup", "5", "--cold-starts", "2",
                    "--runtime", "docker", "--svg", str(svg), "--html", str(page))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert_conforms(document)
    assert document["schema"] == "labctl.compare/1"
    assert list(document["servers"]) == ["go", "python", "rust", "node"]   # all four, in order
    parameters = document["parameters"]
    assert parameters["samples"] == 30 and parameters["cold_starts"] == 2
    assert parameters["interleaved"] is True and parameters["block"] >= 1
    for name, entry in document["servers"].items():
        assert entry["name"] == name
        assert entry["path"]["kind"] == "bridge"
        assert entry["verification"]["status"] == "pass", entry["verification"]
        assert entry["measured"] is True
        assert len(entry["cold_start_ms"]["samples"]) == 2
        assert entry["limits"] == document["limits"]   # the same limits for every server
        assert entry["idle_memory_bytes"] > 0
        for path in ("/", "/health"):
            for mode in ("fresh", "keepalive"):
                series = entry["latency"][path][mode]
                assert series["samples"] == 30 and series["errors"] == 0, (name, path, mode)
                assert series["non_2xx"] == 0
    for key in ("/ fresh", "/ keepalive", "/health fresh", "/health keepalive"):
        ratios = document["analysis"]["ratios"][key]
        assert set(ratios["p50_ratio"]) == set(servers.NAMES)
        assert ratios["p50_ratio"][ratios["fastest"]] == 1.0
        assert min(ratios["p50_ratio"].values()) == 1.0
    assert document["analysis"]["reading"]
    # A normal run over one bridge: no server's path is called slow.
    assert document["analysis"]["path_check"]["slow"] == []
    assert leftover_containers() == []

    # The pictures show the same table.
    assert svg.read_text().startswith("<svg")
    page_text = page.read_text()
    assert page_text.lstrip().lower().startswith("<!doctype html")
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page_text)).split())
    for server in servers.SERVERS:
        assert server.title in shown, server.title
    assert "p50" in shown and "keep-alive" in shown

    # Saved, listed (newest first) and shown as it was.
    listing = labctl("results", "--json")
    assert listing.returncode == 0, listing.stderr
    assert_conforms(json.loads(listing.stdout))
    entries = json.loads(listing.stdout)["results"]
    assert entries[0]["id"] == document["id"] and entries[0]["kind"] == "compare"
    assert entries[0]["servers"] == list(servers.NAMES)
    shown_again = labctl("results", "show", document["id"][:20], "--json")
    assert shown_again.returncode == 0, shown_again.stderr
    assert json.loads(shown_again.stdout) == document


def test_compare_as_csv_then_diff(docker_engine, leftover_containers):
    """`compare --csv`: a row per server, path and connection mode, with the saved figures;
    then two saved runs diffed."""
    first = labctl("compare", "go", "node", "--csv", "--samples", "20", "--cold-starts", "1",
                   "--runtime", "docker")
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert [(r["server"], r["path"], r["connection"]) for r in rows] == [
        (server, path, mode) for server in ("go", "node") for path in ("/", "/health")
        for mode in ("fresh", "keepalive")]
    saved = json.loads(labctl("results", "show", "latest", "--json").stdout)
    for row in rows:
        series = saved["servers"][row["server"]]["latency"][row["path"]][row["connection"]]
        assert int(row["samples"]) == series["samples"] == 20
        assert float(row["p50_us"]) == series["summary"]["p50"]
        assert row["verification"] == "pass" and row["runtime"] == "docker"

    second = labctl("compare", "go", "--json", "--samples", "10", "--cold-starts", "1",
                    "--runtime", "docker")
    assert second.returncode == 0, second.stderr
    later = json.loads(second.stdout)
    entries = json.loads(labctl("results", "--json").stdout)["results"]
    assert [e["id"] for e in entries] == [later["id"], saved["id"]]   # newest first
    diff = labctl("results", "diff", saved["id"], later["id"], "--json")
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)
    assert {c["what"] for c in changes["context"]} >= {"samples"}
    assert {c["server"] for c in changes["latency"]} == {"go"}
    assert changes["only_in_one"] == ["node"]
    text = labctl("results", "diff", saved["id"], "latest")
    assert text.returncode == 0 and "samples: 20 → 10" in text.stdout
    assert leftover_containers() == []


def broken_server() -> Server:
    """A Python server that answers wrongly (tests/assets/broken-server), named for this run."""
    return Server(
        name=f"broken-{RUN_TOKEN}", language="Broken", framework="fixture", aliases=(),
        greeting="Hello from Go net/http\n", source_file="broken.py",
        base_image_arg="PYTHON_IMAGE", default_base_image="python:3.12-slim",
        concurrency_model="one thread", source_override=ASSETS / "broken-server")


def _remove_image(client, tag: str) -> None:
    import docker

    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def test_verify_catches_a_broken_server(docker_engine, leftover_containers):
    from labctl import compare
    from labctl.commands.common import default_limits
    from labctl.runtime.docker import DockerRuntime

    broken = broken_server()
    runtime = DockerRuntime()
    try:
        document = compare.run_compare(
            runtime, [broken, servers.get("go")],
            compare.CompareOptions(samples=10, warmup=1, cold_starts=1,
                                   limits=default_limits(1.0, 256)))
    finally:
        _remove_image(docker_engine, broken.image_tag)
    assert leftover_containers() == []
    entry = document["servers"][broken.name]
    assert entry["verification"]["status"] == "fail"
    assert entry["measured"] is False and "latency" not in entry
    failed = {c["check"]: c["reason"] for c in entry["verification"]["checks"]
              if c["status"] == "fail"}
    assert "GET /health Content-Type" in failed and "text/html" in failed["GET /health Content-Type"]
    assert "GET /health body" in failed
    assert "GET /labctl-no-such-path" in failed      # answered 200 for a missing path
    warned = [c for c in entry["verification"]["checks"] if c["status"] == "warn"]
    assert any(c["check"] == "Date changes" for c in warned)
    assert document["servers"]["go"]["measured"] is True
    assert any("Broken fixture failed its checks" in s for s in document["analysis"]["reading"])


def test_verify_command_exits_non_zero_on_a_failing_server(docker_engine, leftover_containers,
                                                           monkeypatch):
    """`labctl verify` through the command line: the broken fixture fails, go passes, the exit
    status is 1 and stderr says which server failed in one line."""
    from labctl.cli import app

    broken = broken_server()
    shipped = servers.shipped()
    monkeypatch.setattr(servers, "shipped", lambda: (*shipped, broken))   # a fifth name to pick
    try:
        result = CliRunner().invoke(app, ["verify", broken.name, "go", "--json",
                                          "--runtime", "docker"])
        assert result.exit_code == 1, result.output
        document = json.loads(result.stdout)
        assert_conforms(document)
        assert {s["server"]: s["status"] for s in document["servers"]} == {
            broken.name: "fail", "go": "pass"}
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and f"{broken.name} failed verification" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert leftover_containers() == []
    finally:
        _remove_image(docker_engine, broken.image_tag)


def test_verify_command_passes_the_real_servers(docker_engine):
    result = labctl("verify", "go", "rust", "--json", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert_conforms(document)
    assert [s["status"] for s in document["servers"]] == ["pass", "pass"]


# A SYN is 74 bytes: at 8 kbit/s each one waits about 70 ms for its turn in the slow class.
SLOW_SYN_RATE = "8kbit"


def _slow_every_syn_to(address: str) -> tuple[str, list[list[str]]]:
    """The bridge device, and the tc commands that hold back every TCP SYN this machine sends to
    ``address`` (about 70 ms each, in an htb class of 8 kbit/s on the bridge's egress) and
    leave every other packet alone: each new connection is slow, requests on a kept-alive one are not, and the
    server is unchanged. (``tc netem`` would be the usual tool; this machine's kernel has no
    netem. Dropping SYNs would work too, at a second of retransmission each.)"""
    route = subprocess.run(["ip", "-o", "route", "get", address], capture_output=True,
                           text=True, check=True).stdout.split()
    device = route[route.index("dev") + 1]
    return device, [
        ["tc", "qdisc", "add", "dev", device, "root", "handle", "1:", "htb", "default", "10"],
        ["tc", "class", "add", "dev", device, "parent", "1:", "classid", "1:10", "htb", "rate",
         "10gbit"],
        ["tc", "class", "add", "dev", device, "parent", "1:", "classid", "1:20", "htb", "rate",
         SLOW_SYN_RATE, "ceil", SLOW_SYN_RATE, "burst", "1", "cburst", "1"],
        # u32: IPv4 to the address, TCP, and the SYN bit of the TCP flags (byte 13 of the TCP
        # header, 33 of the packet: Linux sends no IP options).
        ["tc", "filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1",
         "u32", "match", "ip", "dst", f"{address}/32", "match", "ip", "protocol", "6", "0xff",
         "match", "u8", "0x02", "0x02", "at", "33", "flowid", "1:20"],
    ]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tc") or not shutil.which("ip"),
                    reason="slowing a container's path needs root, tc and ip")
def test_compare_flags_a_server_whose_path_was_slowed_and_does_not_rank_it(
        docker_engine, leftover_containers):
    process = start_labctl("compare", "go", "node", "--json", "--samples", "10", "--warmup", "1",
                           "--cold-starts", "1", "--runtime", "docker",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    undo: list[str] | None = None
    try:
        deadline = time.monotonic() + 600
        while undo is None:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no Go and Node containers started"
            by_server = {c.labels.get("labctl.server"): c
                         for c in started_by(docker_engine, [process.pid])}
            # Slow Go's path only once Node's container exists: labctl started Go first and has
            # chosen its path by then, with the check that the bridge answers it makes first.
            if {"go", "node"} <= by_server.keys():
                networks = by_server["go"].attrs["NetworkSettings"]["Networks"].values()
                address = next((n["IPAddress"] for n in networks if n.get("IPAddress")), None)
                if address:
                    device, commands = _slow_every_syn_to(address)
                    undo = ["tc", "qdisc", "del", "dev", device, "root"]
                    for command in commands:
                        subprocess.run(command, check=True, capture_output=True)
            time.sleep(0.05)
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if undo is not None:
            subprocess.run(undo, check=False, capture_output=True)
        end_labctl(process)
    assert process.returncode == 0, stderr
    document = json.loads(stdout)
    assert {document["servers"][name]["path"]["kind"] for name in ("go", "node")} == {"bridge"}
    check = document["analysis"]["path_check"]
    assert check["slow"] == ["go"], check
    assert check["connect_p50_us"]["go"] > 30_000 > check["connect_p50_us"]["node"]
    for path in ("/", "/health"):
        assert "go" not in document["analysis"]["ratios"][f"{path} fresh"]["p50_ratio"]
        assert "go" in document["analysis"]["ratios"][f"{path} keepalive"]["p50_ratio"]
    assert any("The network path to Go" in line for line in document["analysis"]["reading"])
    assert leftover_containers() == []
