"""The open-loop generator, oha: its command line, its JSON report, and real runs against a server.

The unit tests read a report shaped as oha 1.16 prints it (``--output-format json``; the field
names are oha's own, src/printer.rs). The Docker tests build the oha image (compiled from
crates.io once, then a cached layer) and load a real server at a rate it can hold and at one it
cannot.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from types import SimpleNamespace

import pytest

from labctl.errors import EnvironmentProblem, LabctlError
from labctl.measure import loadgen
from labctl.measure.loadgen.oha import (
    OHA_IMAGE_TAG,
    OHA_VERSION,
    Answer,
    ContainerOha,
    install_from_image,
    oha_answers_args,
    oha_args,
    parse_oha_answers,
    parse_oha_report,
    parse_oha_version,
    result_from_oha,
)

REPORT = {
    "summary": {"successRate": 1.0, "total": 10.002, "slowest": 0.0123, "fastest": 0.00005,
                "average": 0.0004, "requestsPerSec": 1999.6, "totalData": 300000,
                "sizePerRequest": 15, "sizePerSec": 29994.0},
    "latencyPercentiles": {"p10": 0.0001, "p25": 0.00015, "p50": 0.0002, "p75": 0.0003,
                           "p90": 0.0005, "p95": 0.0008, "p99": 0.002, "p99.9": 0.008,
                           "p99.99": 0.012},
    "statusCodeDistribution": {"200": 19990, "503": 4},
    "errorDistribution": {"aborted due to deadline": 3, "connection closed before message "
                          "completed": 2},
}


def _result(report=REPORT, rate=2000.0):
    options = loadgen.LoadOptions(path="/health", connections=50, duration_s=10, rate=rate)
    return result_from_oha(report, options=options, version=OHA_VERSION, threads=1,
                           where="container", where_detail="oha in a container",
                           client_cpuset="0", url="http://172.17.0.2:8080/health",
                           command=["oha", *oha_args(options, "http://x/health")], notes=[])


def test_the_command_line_is_an_open_loop_with_latency_correction():
    options = loadgen.LoadOptions(path="/", connections=20, duration_s=5, rate=2500,
                                  keepalive=False)
    args = oha_args(options, "http://10.0.0.2:8080/")
    assert args[:6] == ["-z", "5s", "-c", "20", "-q", "2500"]
    assert "--latency-correction" in args and "--no-tui" in args
    assert args[args.index("--output-format") + 1] == "json"
    assert "--disable-keepalive" in args and args[-1] == "http://10.0.0.2:8080/"
    with pytest.raises(ValueError):
        oha_args(loadgen.LoadOptions(), "http://x/")      # no rate: a closed loop is wrk's job


def test_the_report_becomes_a_load_result_in_microseconds():
    data = _result().as_dict()
    assert data["generator"]["name"] == "oha" and data["loop"] == "open"
    assert data["requests"] == 19_994                  # every answer, whatever its status
    assert data["non_2xx"] == 4
    assert data["errors"]["read"] == 2 and data["socket_errors"] == 2
    latency = data["latency_us"]
    assert latency["p50"] == pytest.approx(200.0) and latency["p99"] == pytest.approx(2000.0)
    assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"] <= latency["max"]
    loop = data["open_loop"]
    assert loop["target_rate"] == 2000 and loop["achieved_rate"] == pytest.approx(1999.0, abs=1)
    assert loop["sent"] == 19_999 and loop["scheduled"] == 20_004
    assert any("still in flight" in note for note in data["notes"])   # the 3 cut at the end
    assert "no coordinated omission" in data["percentiles"]


def test_a_rate_that_was_not_reached_is_flagged():
    short = json.loads(json.dumps(REPORT))
    short["statusCodeDistribution"] = {"200": 12_000}
    short["errorDistribution"] = {}
    data = _result(short).as_dict()
    assert data["flagged"]
    assert any("short of the 2000 req/s" in reason for reason in data["reasons"])


def test_output_without_a_report_is_one_clear_error():
    with pytest.raises(LabctlError, match="oha printed no report"):
        parse_oha_report("Error: connection refused\n")
    assert parse_oha_report("oha 1.16.0\n" + json.dumps(REPORT))["summary"]["total"] == 10.002
    assert parse_oha_version(f"oha {OHA_VERSION}\n{{}}") == OHA_VERSION


# oha 1.16's --output-format csv, as it printed it against a real server here: one line per
# answered request (the first two opened their connections), the version line first in the
# container (the image's entry point prints it).
CSV_OUTPUT = """oha 1.16.0
request-start,DNS,DNS+dialup,Response-delay,request-duration,bytes,status
0.001435755,0.000048504,0.000287834,0.002480212,0.002567241,3550,200
0.022036141,0.000013477,0.0001305,0.001473814,0.001496331,3550,503
0.041612995,0,0,0.001291037,0.001305491,3550,200
"""


def test_the_per_request_command_line_is_the_same_open_loop_in_csv():
    options = loadgen.LoadOptions(path="/report", connections=30, duration_s=6, rate=1500,
                                  timeout_s=1)
    args = oha_answers_args(options, "http://x/report")
    assert args[args.index("--output-format") + 1] == "csv"
    assert "--stats-success-breakdown" not in args        # a summary option: no summary here
    summary = oha_args(options, "http://x/report")
    assert [a for a in args if a != "csv"] == [a for a in summary if a not in
                                              ("json", "--stats-success-breakdown")]


def test_the_per_request_output_becomes_answers():
    answers = parse_oha_answers(CSV_OUTPUT)
    assert answers == [Answer(0.001435755, 0.002567241, 200, True),
                       Answer(0.022036141, 0.001496331, 503, True),
                       Answer(0.041612995, 0.001305491, 200, False)]
    with pytest.raises(LabctlError, match="no per-request output"):
        parse_oha_answers("Error: connection refused\n")
    with pytest.raises(LabctlError, match="cannot read"):
        parse_oha_answers(CSV_OUTPUT + "0.05,0,0,0.001,oops,3550,200\n")
    with pytest.raises(LabctlError, match="no status column"):
        parse_oha_answers("request-start,DNS+dialup,request-duration\n0.1,0,0.2\n")


def _load(*args: str) -> dict:
    run = subprocess.run([sys.executable, "-m", "labctl", "load", *args, "--json"],
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode in (0, 1), run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.mark.docker
def test_oha_holds_a_rate_the_server_can_serve(docker_engine):
    document = _load("go", "/health", "--rate", "1000", "-d", "5s", "-c", "20")
    load = document["load"]
    assert load["generator"]["name"] == "oha" and load["generator"]["where"] == "container"
    assert load["generator"]["version"] == OHA_VERSION
    achieved = load["open_loop"]["achieved_rate"]
    assert abs(achieved - 1000) <= 50, achieved            # within 5 % of the target
    assert not load["flagged"], load["reasons"]
    latency = load["latency_us"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]


@pytest.mark.docker
def test_a_rate_beyond_the_server_is_flagged(docker_engine):
    # Each request waits 50 ms on the event loop (blocking): Node serves at most 20 req/s, so
    # 200 req/s cannot be held, and oha's latency correction shows the queue.
    document = _load("node", "/users/1?delay_ms=50&mode=blocking", "--rate", "200", "-d", "4s",
                     "-c", "20")
    load = document["load"]
    assert load["generator"]["name"] == "oha"
    assert load["flagged"]
    assert load["open_loop"]["achieved_rate"] < 200 * 0.95
    assert load["latency_us"]["p50"] > 50_000     # queued far beyond the 50 ms of one request


# -- the host's oha, copied out of the image (scripts/test) -------------------------------------

class _ImageWith:
    """A Docker runtime whose oha image holds ``binary`` (only what install_from_image uses)."""

    def __init__(self, binary: bytes) -> None:
        self.archive = io.BytesIO()
        with tarfile.open(fileobj=self.archive, mode="w") as tar:
            info = tarfile.TarInfo("oha")
            info.size, info.mode = len(binary), 0o755
            tar.addfile(info, io.BytesIO(binary))
        self.discarded: list[object] = []
        self.client = SimpleNamespace(containers=SimpleNamespace(create=self._create))

    def _create(self, image: str, labels: dict) -> SimpleNamespace:
        assert image == OHA_IMAGE_TAG
        return SimpleNamespace(get_archive=lambda path: ([self.archive.getvalue()], {}))

    def tool_labels(self, role: str) -> dict:
        return {"role": role}

    def discard(self, container: object) -> None:
        self.discarded.append(container)


def test_an_oha_that_does_not_run_here_is_not_installed(tmp_path, monkeypatch):
    # A binary for another machine stands for one that reports no oha version when run here.
    monkeypatch.setattr(ContainerOha, "prepare", lambda self, progress=None: None)
    runtime = _ImageWith(b"#!/bin/sh\necho 'cannot execute binary file'\n")
    with pytest.raises(EnvironmentProblem, match="does not run on this machine"):
        install_from_image(runtime, tmp_path / "bin")
    assert list((tmp_path / "bin").iterdir()) == []        # nothing half-installed is left
    assert len(runtime.discarded) == 1                     # the container is removed either way


def test_an_oha_that_runs_here_is_installed_executable(tmp_path, monkeypatch):
    monkeypatch.setattr(ContainerOha, "prepare", lambda self, progress=None: None)
    runtime = _ImageWith(f"#!/bin/sh\necho 'oha {OHA_VERSION}'\n".encode())
    target = install_from_image(runtime, tmp_path / "bin")
    assert target == tmp_path / "bin" / "oha" and os.access(target, os.X_OK)
    assert [p.name for p in (tmp_path / "bin").iterdir()] == ["oha"]


@pytest.mark.docker
def test_the_oha_image_gives_this_machine_a_working_oha(docker_engine, tmp_path):
    # The real image (compiled from crates.io once, then cached): its binary runs on this host,
    # which is what lets scripts/test compile oha once instead of twice.
    from labctl.runtime.docker import DockerRuntime

    target = install_from_image(DockerRuntime(), tmp_path / "bin")
    version = subprocess.run([str(target), "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    assert parse_oha_version(version) == OHA_VERSION
    assert not docker_engine.containers.list(all=True, filters={"ancestor": OHA_IMAGE_TAG})


def test_an_image_without_oha_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(ContainerOha, "prepare", lambda self, progress=None: None)
    runtime = _ImageWith(b"")
    runtime.archive = io.BytesIO()
    with tarfile.open(fileobj=runtime.archive, mode="w"):
        pass                                               # an archive with nothing in it
    with pytest.raises(LabctlError, match="has no file at /usr/local/bin/oha"):
        install_from_image(runtime, tmp_path / "bin")
    assert not (tmp_path / "bin").exists() and len(runtime.discarded) == 1
