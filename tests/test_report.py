"""`labctl report`: the HTML page drawn from saved compare results, checked in a real browser.

The unit tests build compare documents from made-up samples (the measurement is the boundary
faked here); the browser tests load the written page in headless Chromium and check that every
chart really rendered, with no script error. The Docker test draws a real compare run.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from browser import artifacts_dir, chromium_or_skip, console_errors, render, rendered_charts, screenshot
from labctl.cli import app
from labctl.measure import stats
from labctl.results import report, store

SERVERS = {  # name → (language, framework, median µs of a kept-alive GET /health)
    "go": ("Go", "net/http", 70), "python": ("Python", "FastAPI", 230),
    "rust": ("Rust", "axum", 55), "node": ("Node", "Express", 250),
}
PATHS = ("/", "/health")
MODES = ("fresh", "keepalive")


def _series(rng: random.Random, median: float, count: int = 200) -> dict:
    totals = [round(median * rng.lognormvariate(0, 0.25) + (rng.random() < 0.02) * median * 8)
              for _ in range(count)]
    return {"unit": "microseconds", "samples": count, "non_2xx": 0, "errors": 0,
            "summary": stats.summarize(totals).as_dict(), "phases_p50": None,
            "totals_us": totals}


def compare_document(seed: int = 1, *, with_load: bool = False, result_id: str = "") -> dict:
    """A labctl.compare/1 document of the four servers, with made-up but plausible samples."""
    rng = random.Random(seed)
    servers = {}
    for name, (language, framework, median) in SERVERS.items():
        latency = {path: {mode: _series(rng, median * (1.8 if mode == "fresh" else 1.0))
                          for mode in MODES} for path in PATHS}
        servers[name] = {
            "name": name, "language": language, "framework": framework,
            "framework_version": "pinned", "measured": True, "latency": latency,
            "build": {"size_bytes": rng.randint(4, 230) * 1_000_000},
            "idle_memory_bytes": rng.randint(2, 60) * 1_000_000,
            "cold_start_ms": {"median": rng.randint(200, 500), "samples": [300]},
            "path": {"kind": "bridge", "description": "bridge IP 172.17.0.2:8080"},
        }
        if with_load:
            servers[name]["load"] = {"requests_per_s": rng.randint(4_000, 130_000),
                                     "latency_us": {"p99": rng.randint(1_000, 25_000)},
                                     "loop": "closed", "keepalive": True, "connections": 100,
                                     "duration_s": 10, "path": "/health",
                                     "generator": {"name": "wrk", "where": "container"}}
    return {"schema": "labctl.compare/1", "id": result_id or f"20261123-120000-compare-{seed:04d}",
            "created": "2026-11-23T12:00:00Z",
            "runtime": {"runtime": "docker", "engine_version": "20.10", "os": "Debian"},
            "host": {"cpu": "test CPU", "cores": 2, "cores_usable": 2, "os": "Linux",
                     "libcurl": "8.0", "labctl_version": "0.1.0", "source_revision": "abc"},
            "limits": {"cpus": 1.0, "memory_mb": 512, "cpuset": "1"},
            "parameters": {"samples": 200, "warmup_discarded": 20, "block": 10},
            "servers": servers,
            "analysis": {"ratios": {}, "ties": [{"path": "/", "mode": "fresh",
                                                 "servers": ["go", "rust"]}],
                         "reading": ["Rust axum answered GET /health fastest."]}}


# --- the page, without a browser -------------------------------------------------------------

def test_spectrum_steps_follow_nearest_rank_percentiles():
    values = list(range(100, 0, -1))            # 1..100, unsorted on purpose
    xs, ys = report.spectrum_points(values)
    assert ys[:-1] == sorted(values) and ys[-1] == 100
    assert xs == sorted(xs) and xs[0] == 1.0     # p = 0 at the left edge
    # The step that starts at p = 0.9 (x = 10) is the 91st sample: nearest rank for p in (0.9, 0.91].
    at_p90 = xs.index(pytest.approx(10.0))
    assert ys[at_p90] == 91
    assert stats.percentile(sorted(values), 90.5) == ys[at_p90]


def test_report_is_one_self_contained_page_with_every_chart():
    page = report.build_report([compare_document(with_load=True)])
    assert page.startswith("<!doctype html>")
    # Opens with no network: no external script, style sheet or image (the browser tests also
    # run Chromium with every host name unresolvable).
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    # 4 spectra (2 paths × 2 modes) + 4 histograms + cold start, memory, image + load
    assert report.chart_count(page) == 4 + 4 + 3 + 1
    for words in ("Go net/http", "Python FastAPI", "Rust axum", "Node Express",
                  "kept-alive connection", "new connection per request", "closed loop",
                  "1.0 core(s) pinned to CPU 1, 512 MB", "Rust axum answered GET /health fastest",
                  "within noise on GET /"):
        assert words in page, words
    # go and rust tie on GET / (new connection): neither cell claims a rank
    assert page.count("within noise</small>") == 2


def test_the_memory_chart_says_when_memory_was_read_when_every_run_agrees():
    settled = compare_document(1)
    settled["parameters"]["idle_memory_after_s"] = 0.5
    older = compare_document(2)   # saved before labctl recorded when
    assert "Idle memory, 0.5 s after the first 200 on /health (page cache excluded)" in \
        report.build_report([settled])
    page = report.build_report([settled, older])
    assert "Idle memory (page cache excluded)" in page and "0.5 s after" not in page


def test_two_runs_side_by_side_are_told_apart():
    page = report.build_report([compare_document(1), compare_document(2)])
    assert "2 runs side by side" in page
    assert "Run A:" in page and "Run B:" in page
    assert "Go net/http (A)" in page and "Go net/http (B)" in page


def test_a_result_saved_before_samples_were_kept_still_draws_its_percentiles():
    document = compare_document()
    for entry in document["servers"].values():
        for modes in entry["latency"].values():
            for series in modes.values():
                del series["totals_us"]
    page = report.build_report([document])
    assert "p50/p90/p99 only" in page


def test_only_compare_results_can_be_drawn():
    with pytest.raises(report.ReportError, match="labctl.load/1"):
        report.build_report([{"schema": "labctl.load/1", "id": "x"}])


def test_missing_plotly_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(report.MissingExtra) as caught:
        report.build_report([compare_document()])
    assert "pip install 'labctl[report]'" in caught.value.one_line()
    assert caught.value.exit_code == 2


# --- the command -----------------------------------------------------------------------------

def test_missing_plotly_through_the_cli_keeps_the_extra_in_brackets(monkeypatch, tmp_path):
    """Rich would read "[report]" as markup and print "pip install 'labctl'"."""
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    store.save_result("compare", compare_document())
    result = CliRunner().invoke(app, ["report", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "pip install 'labctl[report]'" in result.stderr


def test_report_command_without_results_says_what_to_do(tmp_path):
    result = CliRunner().invoke(app, ["report", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "no saved compare result" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_command_draws_the_latest_compare_and_named_ones(tmp_path):
    first, second = compare_document(1), compare_document(2)
    store.save_result("compare", first)
    store.save_result("compare", second)
    # "Latest" is the store's newest-first order (two saves in one second: by id).
    newer, older = sorted((first, second), key=lambda d: d["id"], reverse=True)
    store.save_result("load", {"schema": "labctl.load/1", "created": "x"})   # not a compare
    target = tmp_path / "latest.html"
    result = CliRunner().invoke(app, ["report", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert newer["id"] in target.read_text() and older["id"] not in target.read_text()
    both = tmp_path / "both.html"
    result = CliRunner().invoke(app, ["report", older["id"], newer["id"], "-o", str(both)])
    assert result.exit_code == 0, result.stderr
    assert "2 runs side by side" in both.read_text()
    result = CliRunner().invoke(app, ["report", "no-such-id", "-o", str(both)])
    assert result.exit_code == 2 and "no saved result" in result.stderr


def test_report_into_a_directory_is_refused(tmp_path):
    store.save_result("compare", compare_document())
    result = CliRunner().invoke(app, ["report", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr


# --- in a real browser -----------------------------------------------------------------------

@pytest.mark.serial   # headless Chromium: a browser's processes, a time budget
def test_console_errors_are_caught_by_the_browser_check(tmp_path):
    """The check below must be able to fail: a page whose script throws is reported."""
    chromium = chromium_or_skip()
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><html><body><script>undefinedFunction();</script></body></html>")
    assert render(page, chromium).console_errors
    assert console_errors("[1:2:ERROR:CONSOLE(3)] \"Uncaught TypeError: x\"")


@pytest.mark.serial   # headless Chromium: a browser's processes, a time budget
def test_every_chart_renders_in_chromium_without_console_errors(tmp_path):
    chromium = chromium_or_skip()
    store.save_result("compare", compare_document(3, with_load=True))
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "-o", str(page)])
    assert result.exit_code == 0, result.stderr
    expected = report.chart_count(page.read_text())
    shown = render(page, chromium)
    assert shown.console_errors == []
    charts = rendered_charts(shown.dom)
    assert len(charts) == expected == 12
    for index, (width, height, traces) in charts.items():
        assert width > 0 and height > 0, f"chart {index} has no size"
        assert traces >= 1, f"chart {index} drew nothing"
    spectra = [charts[str(i)] for i in range(4)]
    assert all(traces == 4 for _, _, traces in spectra), spectra   # one line per server
    picture = screenshot(page, chromium, artifacts_dir(tmp_path) / "report-four-servers.png")
    assert picture.stat().st_size > 20_000


@pytest.mark.serial   # headless Chromium: a browser's processes, a time budget
def test_two_runs_render_side_by_side_in_chromium(tmp_path):
    chromium = chromium_or_skip()
    page = tmp_path / "two.html"
    page.write_text(report.build_report([compare_document(4), compare_document(5)]))
    shown = render(page, chromium)
    assert shown.console_errors == []
    spectra = [rendered_charts(shown.dom)[str(i)] for i in range(4)]
    assert all(traces == 8 for _, _, traces in spectra), spectra   # 4 servers × 2 runs


@pytest.mark.docker
def test_compare_writes_a_report_of_the_real_run(docker_engine, tmp_path):
    chromium = chromium_or_skip()
    page = tmp_path / "real.html"
    run = subprocess.run([sys.executable, "-m", "labctl", "compare", "go", "rust", "-n", "30",
                          "--warmup", "5", "--cold-starts", "1", "--json", "--report", str(page)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(run.stdout)
    for name in ("go", "rust"):
        series = document["servers"][name]["latency"]["/health"]["keepalive"]
        assert len(series["totals_us"]) == series["summary"]["count"] == 30
        assert sorted(series["totals_us"])[14] == series["summary"]["p50"]   # nearest rank
    assert "report written to" in run.stderr
    shown = render(page, chromium)
    assert shown.console_errors == []
    charts = rendered_charts(shown.dom)
    assert all(width > 0 and height > 0 and traces >= 1 for width, height, traces in charts.values())
    assert [charts[str(i)][2] for i in range(4)] == [2, 2, 2, 2]     # go and rust on each spectrum
    screenshot(page, chromium, artifacts_dir(tmp_path) / "report-real-compare.png")


def _overload_document() -> dict:
    """An overload lab document with two servers, built by the lab's own functions from
    synthetic oha results (tests/test_overload_unit.py)."""
    import copy

    from test_overload_unit import _document

    document = _document()
    go = copy.deepcopy(document["servers"]["node"])
    go.update(name="go", language="Go", framework="net/http")
    document["servers"]["go"] = go
    document["id"] = "overload-test"
    return document


def test_overload_results_draw_latency_and_goodput_against_offered_load():
    page = report.build_report([_overload_document()])
    assert report.chart_count(page) == 2
    assert "offered load" in page and "shedding on" in page and "At the top step" in page


def test_overload_and_compare_results_are_not_mixed():
    with pytest.raises(report.ReportError, match="overload lab results"):
        report.build_report([_overload_document(), compare_document()])


@pytest.mark.serial   # headless Chromium: a browser's processes, a time budget
def test_overload_charts_render_in_chromium(tmp_path):
    chromium = chromium_or_skip()
    page = tmp_path / "overload.html"
    page.write_text(report.build_report([_overload_document()]))
    shown = render(page, chromium)
    assert shown.console_errors == []
    charts = rendered_charts(shown.dom)
    assert len(charts) == 2
    # Two servers × shedding off and on; the goodput chart adds the ideal line.
    assert charts["0"][2] == 4 and charts["1"][2] == 5, charts
    for width, height, _ in charts.values():
        assert width > 0 and height > 0
    screenshot(page, chromium, artifacts_dir(tmp_path) / "report-overload.png")
