"""The curl series (labctl/measure/oneshot.py): the real curl binary against a real HTTP server in this
process, the gap arithmetic and its sentences, and what happens without curl on the PATH.
The end-to-end runs against the real servers (Docker, the probe container, the local runtime)
are at the bottom, marked as such."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import labctl
from test_contracts import assert_conforms, assert_renders

from labctl.measure import oneshot

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="needs the curl program on the PATH")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - name fixed by http.server
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def path_without_curl(tmp_path: Path) -> str:
    """A PATH with every program of this one but curl (symlinks in one folder)."""
    folder = tmp_path / "bin-without-curl"
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = folder / entry.name
            if entry.name != "curl" and os.access(entry, os.X_OK) and not target.exists():
                target.symlink_to(entry.resolve())
    return str(folder)


def test_write_out_is_read_in_microseconds():
    sample = oneshot.parse_write_out("200 0.000150 0.000326 0.000349\n")
    assert (sample.status, round(sample.connect_us), round(sample.ttfb_us),
            round(sample.total_us)) == (200, 150, 326, 349)
    with pytest.raises(ValueError):
        oneshot.parse_write_out("curl: (7) Failed to connect")


def test_the_command_ignores_curlrc_and_proxies_and_fetches_twice():
    args = oneshot.arguments("http://10.0.0.1:8080/health")
    assert args[:2] == ["curl", "-q"]             # -q only works as the first argument
    assert args[args.index("--noproxy") + 1] == "*"
    assert args.count("http://10.0.0.1:8080/health") == 2 and "Connection: close" in args


@pytest.mark.serial   # curl's timings against a server in this process
@needs_curl
def test_the_series_times_one_new_process_per_request(http_url):
    run = oneshot.measure({"here": http_url}, ("/health", "/"), samples=4, warmup=2)
    assert run.why_not is None and run.version.startswith("curl ")
    document = run.as_dict(4, 2)
    for path in ("/health", "/"):
        first = document["servers"]["here"][path]
        second = document["second_request"]["here"][path]
        for series in (first, second):
            assert series["samples"] == 4 and series["errors"] == 0 and series["non_2xx"] == 0
            phases = series["phases_p50"]
            assert 0 < phases["connect_us"] <= phases["ttfb_us"] <= series["summary"]["max"]
            assert phases["connect_to_first_byte_us"] >= 0 and phases["first_byte_to_end_us"] >= 0


@pytest.mark.serial   # curl's timings against a server in this process
@needs_curl
def test_the_series_is_spread_over_the_other_series_rounds(http_url):
    """Taken in step with the libcurl rounds it is compared with, not all at the end."""
    curl = oneshot.Interleaved({"here": http_url}, ("/health",), samples=6, warmup=2)
    curl.after_round(1, 4)              # a quarter of the rounds: a quarter of its 8
    assert len(curl.run.second["here"]["/health"].samples) == 0   # both still warm-up
    curl.after_round(2, 4)
    assert len(curl.run.series["here"]["/health"].samples) == 2
    run = curl.finish()
    assert len(run.series["here"]["/health"].samples) == 6


def test_without_curl_on_the_path_the_series_says_why(monkeypatch, tmp_path, http_url):
    monkeypatch.setenv("PATH", str(tmp_path))
    run = oneshot.measure({"here": http_url}, ("/health",))
    document = run.as_dict(oneshot.SAMPLES, oneshot.WARMUP)
    assert document["measured"] is False and document["servers"] == {}
    assert document["why_not"] == "no curl program on this machine's PATH"


def _series(p50: float, connect: float, waiting: float, after: float) -> dict:
    return {"summary": {"p50": p50}, "phases_p50": {
        "connect_us": connect, "ttfb_us": connect + waiting,
        "connect_to_first_byte_us": waiting, "first_byte_to_end_us": after}}


def test_the_gap_is_taken_apart_phase_by_phase_and_names_both_figures():
    found = oneshot.gap(_series(236, 150, 70, 16), _series(58, 30, 20, 8), "/health",
                        second={"summary": {"p50": 72}})
    assert found["client_cold_start_us"] == 178 and found["ratio"] == pytest.approx(4.07, 0.01)
    assert [(p["phase"], p["extra_us"]) for p in found["phases"]] == [
        ("connect", 120), ("connect to first byte", 50), ("first byte to end", 8)]
    text = " ".join(oneshot.reading(found))
    assert "236 µs" in text and "58 µs" in text and "178 µs" in text and "72 µs" in text
    assert "Most of the extra is in connect (+120 µs)" in text
    assert "expect about 236 µs" in oneshot.expectation(found, None)


def test_a_gap_the_noise_reversed_is_not_called_a_cold_start():
    found = oneshot.gap(_series(50, 30, 15, 5), _series(58, 30, 20, 8), "/health")
    text = " ".join(oneshot.reading(found))
    assert "noise" in text and "cold start is" not in text
    expected = oneshot.expectation(found, None)
    assert "expect about 50 µs" in expected and "cold start" not in expected


def test_no_gap_without_both_series():
    assert oneshot.gap(None, _series(58, 30, 20, 8), "/health") is None
    assert oneshot.gap({"summary": None}, _series(58, 30, 20, 8), "/health") is None
    assert "no one-shot curl series" in oneshot.expectation(None, "no curl program")


# -- end to end: the real Go server -------------------------------------------------------


def _check_run_document(document: dict, where: str) -> None:
    part = document["one_shot_curl"]
    assert part["measured"] is True and part["curl"].startswith("curl "), part
    assert where in part["where"]
    assert part["cpus"] == document["probe"]["cpus"]        # pinned like the probe
    for path in ("/", "/health"):
        series = part["endpoints"][path]
        assert series["samples"] == oneshot.SAMPLES and series["errors"] == 0
        assert set(series["phases_p50"]) >= {"connect_us", "ttfb_us", "connect_to_first_byte_us",
                                             "first_byte_to_end_us"}
        assert part["second_request"][path]["samples"] == oneshot.SAMPLES
    one_shot_p50 = part["endpoints"]["/health"]["summary"]["p50"]
    new_p50 = document["endpoints"]["/health"]["fresh"]["summary"]["p50"]
    assert one_shot_p50 > new_p50, (one_shot_p50, new_p50)
    gap = part["gap"]
    assert gap["one_shot_p50_us"] == one_shot_p50 and gap["new_connection_p50_us"] == new_p50
    assert [p["phase"] for p in gap["phases"]] == [name for name, _ in oneshot.PHASES]
    reading = " ".join(part["reading"])
    assert f"{one_shot_p50:.0f} µs" in reading and f"{new_p50:.0f} µs" in reading
    assert f"expect about {one_shot_p50:.0f} µs" in part["expect"]


def _check_text_without_curl(result, where: str) -> None:
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("curl, one process")]
    assert rows == [], rows
    shown = " ".join(result.stdout.split())
    assert f'No "curl, one process per request" row: no curl program {where}.' in shown
    assert "no one-shot curl series to compare it with" in shown


def _env_without_curl(tmp_path: Path) -> dict:
    return {**os.environ, "PATH": path_without_curl(tmp_path), "COLUMNS": "200"}


@pytest.mark.docker
def test_run_on_docker_shows_the_one_shot_curl_row(docker_engine, tmp_path):
    result = labctl("run", "go", "--json", "--samples", "30", "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _check_run_document(document, "in labctl's own process")
    assert_conforms(document)
    shown = assert_renders(document)
    assert re.search(r"^curl, one process per request\s+│", shown, re.MULTILINE), shown
    _check_text_without_curl(labctl("run", "go", "--samples", "10", "--runtime", "docker",
                                    env=_env_without_curl(tmp_path)),
                             "on this machine's PATH")


@pytest.mark.docker
def test_run_with_the_probe_next_to_the_server_runs_curl_there(docker_engine, tmp_path):
    """The probe container (LABCTL_MEASURE_ON=engine, as on a remote engine) has curl of its
    own: this machine's PATH does not matter to it."""
    result = labctl("run", "go", "--json", "--samples", "30", "--runtime", "docker",
                    env={**_env_without_curl(tmp_path), "LABCTL_MEASURE_ON": "engine"})
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["path"]["kind"] == "engine-bridge"
    _check_run_document(document, "in a container next to the server")


@pytest.mark.local
def test_run_on_the_local_runtime_shows_the_one_shot_curl_row(tmp_path):
    result = labctl("run", "go", "--json", "--samples", "30", "--runtime", "local")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _check_run_document(document, "in labctl's own process")
    assert_conforms(document)
    _check_text_without_curl(labctl("run", "go", "--samples", "10", "--runtime", "local",
                                    env=_env_without_curl(tmp_path)),
                             "on this machine's PATH")


def test_the_curl_series_is_never_longer_than_the_probes():
    assert oneshot.Plan.beside(200).samples == oneshot.SAMPLES
    assert oneshot.Plan.beside(oneshot.SAMPLES).samples == oneshot.SAMPLES
    assert oneshot.Plan.beside(10).samples == 10
