"""Unit tests for the load generators: parsing wrk's output, durations, flagging, and the
built-in client against a tiny real asyncio server on loopback. Fast: no Docker."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time

import pytest
from typer.testing import CliRunner

from labctl import ui
from labctl.cli import app
from labctl.errors import LabctlError
from labctl.measure import loadgen
from labctl.results import export, render
from labctl.runtime import cpus
from labctl.runtime.base import Instance, Limits
from labctl.servers import get as get_server

# Real output of Debian's wrk 4.1.0 with report.lua (error responses from a 404 path).
WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18931/nonexistent
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.19ms    4.03ms  28.64ms   86.52%
    Req/Sec     1.90k     0.99k    3.41k    60.00%
  Latency Distribution
     50%    1.38ms
     75%    3.85ms
     90%    8.38ms
     99%   20.75ms
  1891 requests in 1.00s, 0.94MB read
  Non-2xx or 3xx responses: 1891
Requests/sec:   1886.58
Transfer/sec:      0.94MB
LABCTL-WRK-RESULT {"requests":1891,"duration_us":1002343,"bytes":983505,"errors_connect":0,\
"errors_read":0,"errors_write":0,"errors_timeout":0,"errors_status":1891,"min_us":184,\
"mean_us":3188,"stdev_us":4025,"p50_us":1381,"p75_us":3847,"p90_us":8379,"p99_us":20750,\
"p999_us":27563,"max_us":28642}
"""

WRK_TEXT_WITH_ERRORS = """\
Running 10s test @ http://172.17.0.2:8080/
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us    1.10ms   1.02s    97.50%
    Req/Sec    60.12k     5.01k   70.00k    80.00%
  Latency Distribution
     50%  650.00us
     75%  900.00us
     90%    1.20ms
     99%    4.51ms
  1200345 requests in 10.00s, 140.20MB read
  Socket errors: connect 3, read 12, write 1, timeout 7
  Non-2xx or 3xx responses: 42
Requests/sec: 120030.12
Transfer/sec:     14.02MB
"""


# -- wrk output -----------------------------------------------------------------------------


def test_report_line_is_parsed():
    figures = loadgen.parse_wrk_report(WRK_OUTPUT)
    assert figures["requests"] == 1891
    assert figures["duration_us"] == 1002343
    assert figures["errors_status"] == 1891
    assert (figures["p50_us"], figures["p90_us"], figures["p99_us"], figures["max_us"]) == (
        1381, 8379, 20750, 28642)


def test_report_line_missing_or_broken_gives_none():
    assert loadgen.parse_wrk_report("Running 1s test\n") is None
    assert loadgen.parse_wrk_report("LABCTL-WRK-RESULT {not json\n") is None


def test_plain_text_is_parsed_with_units():
    figures = loadgen.parse_wrk_text(WRK_TEXT_WITH_ERRORS)
    assert figures["requests"] == 1200345
    assert figures["duration_us"] == 10_000_000
    assert figures["mean_us"] == pytest.approx(812)
    assert figures["max_us"] == pytest.approx(1_020_000)
    assert figures["p50_us"] == pytest.approx(650)
    assert figures["p90_us"] == pytest.approx(1200)
    assert figures["p99_us"] == pytest.approx(4510)
    assert (figures["errors_connect"], figures["errors_read"], figures["errors_write"],
            figures["errors_timeout"], figures["errors_status"]) == (3, 12, 1, 7, 42)
    assert figures["bytes"] == pytest.approx(140.20 * 1024 * 1024)


def test_plain_text_agrees_with_the_script_on_the_same_run():
    text = loadgen.parse_wrk_text(WRK_OUTPUT)
    script = loadgen.parse_wrk_report(WRK_OUTPUT)
    assert text["requests"] == script["requests"]
    assert text["errors_status"] == script["errors_status"]
    for key in ("p50_us", "p90_us", "p99_us", "max_us"):
        assert text[key] == pytest.approx(script[key], rel=0.01)


def test_text_without_summary_gives_none_and_figures_raise():
    assert loadgen.parse_wrk_text("unable to connect to 172.17.0.9:8080 Connection refused") is None
    with pytest.raises(LabctlError, match="Connection refused"):
        loadgen.wrk_figures("", "unable to connect to 172.17.0.9:8080 Connection refused")


def test_figures_prefer_the_script_line():
    figures, from_script = loadgen.wrk_figures(WRK_OUTPUT)
    assert from_script and figures["p999_us"] == 27563
    figures, from_script = loadgen.wrk_figures(WRK_TEXT_WITH_ERRORS)
    assert not from_script and figures["requests"] == 1200345


def test_version_is_parsed():
    assert loadgen.parse_wrk_version(
        "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options>"
    ) == "debian/4.1.0-3+b2 [epoll]"
    assert loadgen.parse_wrk_version(
        "LABCTL-WRK-VERSION wrk 4.2.0 [kqueue] Copyright") == "4.2.0 [kqueue]"
    assert loadgen.parse_wrk_version("nothing here") is None


def test_result_from_wrk_fills_every_field():
    figures, _ = loadgen.wrk_figures(WRK_TEXT_WITH_ERRORS)
    result = _wrk_result(figures, from_script=False)
    data = result.as_dict()
    assert data["requests"] == 1200345
    assert data["requests_per_s"] == pytest.approx(120034.5, rel=1e-6)
    assert data["errors"] == {"connect": 3, "read": 12, "write": 1, "timeout": 7}
    assert data["socket_errors"] == 23 and data["non_2xx"] == 42
    assert data["flagged"] and len(data["reasons"]) == 2
    assert data["latency_us"]["p999"] is None
    assert any("text output" in note for note in data["notes"])
    json.dumps(data)   # JSON-ready


def test_wrk_args_keepalive_and_whole_seconds():
    options = loadgen.LoadOptions(connections=100, duration_s=10, keepalive=True)
    args, seconds = loadgen.wrk_args(options, 1, "http://172.17.0.2:8080/", "/s.lua")
    assert seconds == 10
    assert args == ["-t1", "-c100", "-d10s", "--timeout", "2s", "--latency", "-s", "/s.lua",
                    "http://172.17.0.2:8080/"]
    closing = loadgen.LoadOptions(connections=4, duration_s=0.5, keepalive=False)
    args, seconds = loadgen.wrk_args(closing, 2, "http://x/", "/s.lua")
    assert seconds == 1 and "-d1s" in args
    assert args[-3:] == ["-H", "Connection: close", "http://x/"]
    hand = loadgen.by_hand_command(closing, 2, "http://x/", "0")
    assert hand[:4] == ["taskset", "-c", "0", "wrk"] and "-s" not in hand


# -- durations and options ------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("10s", 10), ("500ms", 0.5), ("1m", 60), ("10", 10),
                                          ("1.5s", 1.5), (" 2S ", 2), ("0.25", 0.25)])
def test_durations(text, seconds):
    assert loadgen.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "10x", "-1s", "0", "0ms", "1 5s"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        loadgen.parse_duration(text)


def test_options_validation():
    loadgen.LoadOptions().validate()
    loadgen.LoadOptions(rate=100).validate()
    loadgen.LoadOptions(rate=100, generator="builtin").validate()
    loadgen.LoadOptions(rate=100, generator="container").validate()   # oha in a container
    loadgen.LoadOptions(rate=100, generator="host").validate()        # oha on this machine
    for bad in (loadgen.LoadOptions(rate=0),
                loadgen.LoadOptions(threads=5, connections=4),
                loadgen.LoadOptions(path="health"),
                loadgen.LoadOptions(generator="ab")):
        with pytest.raises(LabctlError) as error:
            bad.validate()
        assert error.value.exit_code == 2
    assert loadgen.LoadOptions().describe_loop() == "closed loop (as fast as the server answers)"
    assert loadgen.LoadOptions(rate=500).describe_loop() == "open loop at 500 req/s"


def test_client_cpus_are_the_ones_the_server_does_not_use(monkeypatch):
    monkeypatch.setattr(cpus, "usable_cpus", lambda: {0, 1})
    assert cpus.client_cpuset(Limits(cpuset="1")) == "0"
    assert cpus.client_cpuset(Limits(cpuset=None)) is None
    assert cpus.client_cpuset(Limits(cpuset="0,1")) is None
    monkeypatch.setattr(cpus, "usable_cpus", lambda: {0, 1, 2, 3})
    assert cpus.client_cpuset(Limits(cpuset="2-3")) == "0,1"
    assert loadgen.default_threads(loadgen.LoadOptions(connections=1), "0,1") == 1
    assert loadgen.default_threads(loadgen.LoadOptions(), "0,1") == 2
    assert loadgen.default_threads(loadgen.LoadOptions(threads=3), "0") == 3


# -- choosing a generator -------------------------------------------------------------------


class _FakeRuntime:
    """Answers the runtime interface's questions the generator choice asks (runtime/base.py)."""

    client_engine = None
    location = None

    def __init__(self, name: str, build_error: str | None = None) -> None:
        self.name = name
        self.build_error = build_error

    def measures_on_engine(self) -> bool:
        return False

    def container_engine(self):
        return self if self.name == "docker" else None

    def build_image(self, *args, **kwargs):
        raise LabctlError(self.build_error or "no")


def test_auto_picks_container_wrk_on_docker_and_host_wrk_on_local(monkeypatch):
    monkeypatch.setattr(loadgen.choice.shutil, "which", lambda name: "/usr/bin/wrk")
    options = loadgen.LoadOptions()
    assert isinstance(loadgen.choose_generator(_FakeRuntime("docker"), options),
                      loadgen.ContainerWrk)
    assert isinstance(loadgen.choose_generator(_FakeRuntime("local"), options), loadgen.HostWrk)


def test_a_rate_runs_on_oha_wherever_the_load_comes_from():
    from labctl.measure.loadgen.oha import ContainerOha, HostOha

    rate = loadgen.LoadOptions(rate=100)
    assert isinstance(loadgen.choose_generator(_FakeRuntime("docker"), rate), ContainerOha)
    assert isinstance(loadgen.choose_generator(_FakeRuntime("local"), rate), HostOha)
    host = loadgen.LoadOptions(rate=100, generator="host")
    assert isinstance(loadgen.choose_generator(_FakeRuntime("docker"), host), HostOha)
    builtin = loadgen.LoadOptions(rate=100, generator="builtin")
    assert isinstance(loadgen.choose_generator(_FakeRuntime("docker"), builtin),
                      loadgen.BuiltinClient)


def test_auto_falls_back_loudly_without_a_real_generator(monkeypatch):
    monkeypatch.setattr(loadgen.choice.shutil, "which", lambda name: None)
    generator = loadgen.prepare_generator(_FakeRuntime("local"), loadgen.LoadOptions())
    assert isinstance(generator, loadgen.BuiltinClient)
    assert "no real load generator" in generator.notes[0]
    broken = _FakeRuntime("docker", build_error="apt-get failed")
    generator = loadgen.prepare_generator(broken, loadgen.LoadOptions())
    assert isinstance(generator, loadgen.BuiltinClient)
    assert "wrk image could not be built: apt-get failed" in generator.notes[0]


def test_an_explicit_generator_does_not_fall_back(monkeypatch):
    monkeypatch.setattr(loadgen.choice.shutil, "which", lambda name: None)
    with pytest.raises(LabctlError, match="no wrk on this machine"):
        loadgen.prepare_generator(_FakeRuntime("local"), loadgen.LoadOptions(generator="host"))
    with pytest.raises(LabctlError, match="apt-get failed"):
        loadgen.prepare_generator(_FakeRuntime("docker", "apt-get failed"),
                                  loadgen.LoadOptions(generator="container"))


# -- flagging -------------------------------------------------------------------------------


def _wrk_result(figures: dict, *, from_script: bool = True, **overrides) -> loadgen.LoadResult:
    fields = dict(version="4.1.0", where="container", where_detail="test", client_cpuset="0",
                  target_url="http://x/", options=loadgen.LoadOptions(), threads=1)
    fields.update(overrides)
    return loadgen.result_from_wrk(figures, from_script=from_script, **fields)


def _figures(**changes) -> dict:
    figures = loadgen.parse_wrk_report(WRK_OUTPUT)
    assert figures is not None
    figures.update(errors_status=0)
    figures.update(changes)
    return figures


def test_clean_run_is_not_flagged():
    result = _wrk_result(_figures())
    assert not result.flagged and result.reasons == [] and not result.all_failed


def test_socket_errors_and_error_responses_flag_the_run():
    result = _wrk_result(_figures(errors_read=3, errors_timeout=2, errors_status=5))
    assert result.flagged
    assert result.reasons[0] == "5 socket error(s): read 3, timeout 2"
    assert "5 of 1891 responses were errors" in result.reasons[1]
    assert not result.all_failed


def test_every_request_failing_is_all_failed():
    assert _wrk_result(_figures(errors_status=1891)).all_failed
    nothing = _wrk_result(_figures(requests=0, errors_connect=50))
    assert nothing.all_failed and nothing.reasons[0] == "no request got an answer"
    assert nothing.latency_us["p50"] is None


def test_builtin_closed_loop_is_flagged_as_the_bottleneck():
    result = loadgen.LoadResult(
        generator="builtin", version="x", where="builtin", where_detail="x", client_cpuset="0",
        target_url="http://x/", options=loadgen.LoadOptions(), threads=1, requests=10,
        duration_s=1.0, latency_us={}, percentile_kind="", errors={"connect": 0}, non_2xx=0,
        non_2xx_definition="")
    assert result.reasons == [loadgen.BUILTIN_WARNING]


def test_open_loop_shortfall_is_flagged():
    def open_result(achieved: float) -> loadgen.LoadResult:
        return loadgen.LoadResult(
            generator="builtin", version="x", where="builtin", where_detail="x",
            client_cpuset="0", target_url="http://x/", options=loadgen.LoadOptions(rate=1000),
            threads=1, requests=int(achieved), duration_s=1.0, latency_us={},
            percentile_kind="", errors={"connect": 0}, non_2xx=0, non_2xx_definition="",
            open_loop={"target_rate": 1000, "achieved_rate": achieved})

    assert not open_result(960).flagged
    assert "short of the 1000 req/s" in open_result(900).reasons[0]


# -- the built-in client against a real loopback server -------------------------------------


class TinyServer:
    """An asyncio HTTP/1.1 server on 127.0.0.1 in a thread: /, /chunked, /fail, /close."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    async def _handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                closing = b"connection: close" in head.lower() or path == b"/close"
                extra = b"Connection: close\r\n" if closing else b""
                if path == b"/chunked":
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + extra
                                 + b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                else:
                    status = b"500 Internal Server Error" if path == b"/fail" else b"200 OK"
                    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 3\r\n" + extra
                                 + b"\r\nok\n")
                await writer.drain()
                if closing:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        # Handlers still waiting on kept-alive connections end here, on a running loop. Left to
        # the garbage collector, they ended later on a closed loop, as an unraisable exception
        # that pytest pinned on whichever test was running then.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self):
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def tiny_server():
    with TinyServer() as server:
        yield server


def _builtin(url: str, **options) -> loadgen.BuiltinOutcome:
    options.setdefault("connections", 4)
    options.setdefault("duration_s", 0.3)
    return asyncio.run(loadgen.run_builtin(url, loadgen.LoadOptions(**options)))


def _in_order(summary: dict) -> bool:
    return summary["min"] <= summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"]


@pytest.mark.serial   # sends load
def test_builtin_closed_loop_keepalive(tiny_server):
    outcome = _builtin(tiny_server.url + "/")
    assert outcome.requests > 50
    assert outcome.errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert outcome.non_2xx == 0
    assert len(outcome.latencies_us) == outcome.requests
    assert _in_order(outcome.latency_summary())
    assert outcome.duration_s >= 0.3


@pytest.mark.serial   # sends load
def test_builtin_without_keepalive_and_chunked(tiny_server):
    outcome = _builtin(tiny_server.url + "/chunked", keepalive=False)
    assert outcome.requests > 10 and sum(outcome.errors.values()) == 0
    assert outcome.non_2xx == 0
    closing = _builtin(tiny_server.url + "/close")
    assert closing.requests > 10 and sum(closing.errors.values()) == 0


@pytest.mark.serial   # sends load
def test_builtin_counts_error_responses(tiny_server):
    outcome = _builtin(tiny_server.url + "/fail", connections=2, duration_s=0.2)
    assert outcome.requests > 0 and outcome.non_2xx == outcome.requests


@pytest.mark.serial   # sends load
def test_builtin_counts_connect_errors():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]   # bound, never listening: connections are refused
        outcome = _builtin(f"http://127.0.0.1:{port}/", connections=2, duration_s=0.1)
    assert outcome.requests == 0 and outcome.errors["connect"] > 0


@pytest.mark.serial   # sends load
def test_builtin_open_loop_keeps_its_rate(tiny_server):
    options = loadgen.LoadOptions(connections=4, duration_s=1.0, rate=200)
    outcome = asyncio.run(loadgen.run_builtin(tiny_server.url + "/", options))
    facts = outcome.open_loop_facts(options)
    assert facts["scheduled"] == 200
    # Never more than the schedule, every slot accounted for (sent or not sent on time)...
    assert outcome.requests <= facts["sent"] <= 200
    assert facts["sent"] + facts["not_sent"] == 200
    # ...and keeping up: a generous floor (200 req/s is a tenth of what this client
    # manages against a loopback server; a busy machine slows it, not by half).
    assert facts["achieved_rate"] >= 100, facts
    assert _in_order(outcome.latency_summary())


@pytest.mark.serial   # sends load
def test_builtin_generator_result_is_labelled(tiny_server):
    instance = _instance(tiny_server.url)
    result = loadgen.BuiltinClient().run(instance, loadgen.LoadOptions(connections=2,
                                                                       duration_s=0.2), None)
    data = result.as_dict()
    assert data["generator"]["where"] == "builtin" and data["flagged"]
    assert loadgen.BUILTIN_WARNING in data["reasons"]
    assert any("share CPUs" in note for note in data["notes"])


@pytest.mark.serial   # sends load
def test_load_for_compare_prepares_once_and_returns_the_document(tiny_server, monkeypatch):
    from labctl.runtime.local import LocalRuntime

    prepared = []
    real_prepare = loadgen.prepare_generator
    monkeypatch.setattr(loadgen.choice, "prepare_generator",
                        lambda *args, **kw: prepared.append(1) or real_prepare(*args, **kw))
    monkeypatch.setattr(loadgen.choice, "_prepared", {})
    runtime = LocalRuntime()
    options = loadgen.LoadOptions(connections=2, duration_s=0.2, generator="builtin")
    first = loadgen.load_for_compare(runtime, _instance(tiny_server.url), options)
    second = loadgen.load_for_compare(runtime, _instance(tiny_server.url), options)
    assert len(prepared) == 1
    for data in (first, second):
        assert data["requests"] > 0 and data["requests_per_s"] > 0
        assert data["warmup_s"] == 0.2 and data["latency_us"]["p99"] is not None
        json.dumps(data)


def _instance(url: str) -> Instance:
    return Instance(server=get_server("go"), ident="0", url=url, public_url=url,
                    path=f"loopback {url}", path_kind="loopback", limits=Limits(),
                    started_at=time.monotonic())


@pytest.mark.serial   # sends load
@pytest.mark.skipif(shutil.which("wrk") is None, reason="no wrk on PATH")
def test_host_wrk_with_the_report_script(tiny_server):
    generator = loadgen.HostWrk()
    generator.prepare()
    result = generator.run(_instance(tiny_server.url), loadgen.LoadOptions(
        connections=2, duration_s=1), None)
    data = result.as_dict()
    assert data["requests"] > 0 and data["socket_errors"] == 0 and data["non_2xx"] == 0
    latency = data["latency_us"]
    assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert data["generator"]["version"] and "share CPUs" in " ".join(data["notes"])
    assert not any("text output" in note for note in data["notes"])   # the script's line


# -- the command's input checks and output --------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["go", "--json", "--csv"], "--json and --csv"),
    (["go", "-d", "ten"], "not a duration"),
    (["go", "--generator", "ab"], "unknown generator"),
    (["go", "health"], "must start with '/'"),
])
def test_bad_options_exit_2_before_anything_starts(args, message):
    result = CliRunner().invoke(app, ["load", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def _document(flagged: bool) -> dict:
    figures = _figures(errors_read=2) if flagged else _figures()
    result = _wrk_result(figures, version="debian/4.1.0-3+b2 [epoll]")
    return {
        "server": {"name": "go", "language": "Go", "framework": "net/http"},
        "runtime": {"runtime": "docker"},
        "limits": {"cpus": 1.0, "memory_mb": 512, "cpuset": "1"},
        "cpus": {"server": "1", "client": "0", "separated": True},
        "path": {"kind": "bridge", "description": "bridge IP 172.17.0.2:8080"},
        "load": result.as_dict(),
    }


def test_render_labels_everything_and_flags_in_words():
    from rich.console import Console

    console = Console(width=200, record=True, theme=ui.THEME)
    console.print(render.render_load(_document(flagged=False)))
    text = console.export_text()
    for label in ("closed loop", "keep-alive on", "100 connections", "CPU 1", "CPU 0",
                  "requests/s", "p50", "p90", "p99", "max", "socket errors", "non-2xx",
                  "debian/4.1.0-3+b2 [epoll]"):
        assert label in text, label
    assert "FLAGGED" not in text
    console = Console(width=200, record=True, theme=ui.THEME)
    console.print(render.render_load(_document(flagged=True)))
    assert "FLAGGED: 2 socket error(s): read 2" in console.export_text()


def test_csv_row_has_every_column():
    row = export.load_csv_row(_document(flagged=True))
    assert set(row) == set(export.LOAD_CSV_COLUMNS)
    assert row["flagged"] == "yes" and row["errors_read"] == 2 and row["p50_us"] == 1381


def test_an_empty_wrk_histogram_is_no_latency():
    """Every answer timed out: wrk's percentiles read 0, which labctl must not show as 0 µs."""
    figures = {"requests": 96, "duration_us": 10_000_000, "p50_us": 0, "p90_us": 0, "p99_us": 0,
               "max_us": 0, "errors_timeout": 96}
    result = loadgen.result_from_wrk(
        figures, from_script=True, version="4.1.0", where="container", where_detail="test",
        client_cpuset="0", target_url="http://x/", options=loadgen.LoadOptions(), threads=1)
    assert result.latency_us["p50"] is None and result.latency_us["max"] is None
    assert result.flagged and "timeout 96" in " ".join(result.reasons)
