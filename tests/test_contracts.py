"""Contract tests: every JSON document, built by the code that builds it for real, has exactly the
keys labctl/results/documents.py declares for its schema, and its schema is one docs/json.md describes.

No engine: the runtime is a fake whose "server" is a small HTTP server in this process, so the
measuring code (libcurl probe, httpx checks, the built-in load client) runs for real against
it; only the bottleneck lab's load step is faked, at the boundary `run_lab` takes it through.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import types
import typing
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NotRequired, Union

import pytest
from typer.testing import CliRunner

from labctl import verification
from labctl.cli import app
from labctl.measure import verify
from labctl.results import documents
from labctl.runtime.base import BuildInfo, Instance, Limits, Runtime
from labctl.servers import Server
from labctl.servers import get as get_server

DOCS = Path(__file__).resolve().parent.parent / "docs" / "json.md"
runner = CliRunner()


# -- the checker ----------------------------------------------------------------------------


def problems(value: Any, declared: Any, where: str = "$") -> list[str]:
    """Where ``value`` differs from the declared type: missing or undeclared keys of a
    TypedDict, wrong containers, wrong scalars (an int passes for a float)."""
    if declared is Any:
        return []
    origin = typing.get_origin(declared)
    if origin is NotRequired:
        return problems(value, typing.get_args(declared)[0], where)
    if origin in (Union, types.UnionType):
        options = typing.get_args(declared)
        if value is None and type(None) in options:
            return []
        found = [problems(value, option, where) for option in options if option is not type(None)]
        return [] if any(not f for f in found) else found[0]
    if typing.is_typeddict(declared):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        hints = typing.get_type_hints(declared, include_extras=True)
        out = [f"{where}.{key}: missing" for key in declared.__required_keys__ if key not in value]
        out += [f"{where}.{key}: not declared" for key in value if key not in hints]
        for key, item in value.items():
            if key in hints:
                out += problems(item, hints[key], f"{where}.{key}")
        return out
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        (item_type,) = typing.get_args(declared)
        return [p for i, item in enumerate(value) for p in problems(item, item_type, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        _, item_type = typing.get_args(declared)
        return [p for key, item in value.items() for p in problems(item, item_type, f"{where}.{key}")]
    accepted = {float: (int, float), int: (int,), str: (str,), bool: (bool,)}.get(declared)
    if accepted is None:
        return []
    if isinstance(value, bool) and declared is not bool:
        return [f"{where}: expected {declared.__name__}, got bool"]
    if not isinstance(value, accepted):
        return [f"{where}: expected {declared.__name__}, got {type(value).__name__}"]
    return []


def assert_conforms(document: dict) -> None:
    json.dumps(document)    # what --json prints must be plain JSON
    schema = document.get("schema")
    assert schema in documents.SCHEMAS, f"no declaration for schema {schema!r}"
    found = problems(document, documents.SCHEMAS[schema])
    assert not found, "\n".join(found)


def assert_renders(document: dict) -> str:
    """`labctl results show` can print it: the renderer its schema names, no command module."""
    import io

    from rich.console import Console

    from labctl import ui
    from labctl.results import render

    renderer = render.renderer_for(document)
    assert renderer is not None, f"no renderer for {document['schema']}"
    buffer = io.StringIO()
    Console(file=buffer, width=120, theme=ui.THEME).print(renderer(document))
    return buffer.getvalue()


def test_the_checker_catches_a_missing_an_extra_and_a_wrong_key():
    good = {"kind": "bridge", "description": "x"}
    assert problems(good, documents.PathPart) == []
    assert problems({"kind": "bridge"}, documents.PathPart) == ["$.description: missing"]
    assert problems({**good, "extra": 1}, documents.PathPart) == ["$.extra: not declared"]
    assert problems({**good, "kind": 3}, documents.PathPart) == ["$.kind: expected str, got int"]


def test_every_schema_is_described_in_docs_json_md():
    text = DOCS.read_text(encoding="utf-8")
    for schema in documents.SCHEMAS:
        assert f"`{schema}`" in text, f"docs/json.md does not describe {schema}"


# -- a runtime whose server is a small HTTP server in this process ------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        # Answers as the Go server does, so a document that needs a verified server has one.
        path = self.path.split("?")[0]
        known = path in ("/", "/health") or path.startswith(("/users/", "/aggregate"))
        if path == "/":
            body, kind = get_server("go").greeting.encode(), "text/plain; charset=utf-8"
        else:
            body = json.dumps({"status": "ok"} if known else {"error": "not found"}).encode()
            kind = "application/json"
        self.send_response(200 if known else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Server-Timing", "work;dur=1.5")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def local_http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class FakeRuntime(Runtime):
    """Everything but the server process is real: the documents' boundary with the engine."""

    name = "local"

    def __init__(self, url: str) -> None:
        self.url = url

    def check(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"runtime": "local", "toolchains": {}}

    def prepare(self, server: Server, progress=None, *, rebuild: bool = False) -> BuildInfo:
        return BuildInfo(artifact=f"fake/{server.name}", built=False, seconds=0.0,
                         size_bytes=1000)

    def start(self, server: Server, limits: Limits, *, keep: bool = False,
              env: dict[str, str] | None = None, instance: str = "") -> Instance:
        return Instance(server=server, ident="1", url=self.url, public_url=self.url,
                        path=f"loopback {self.url}", path_kind="loopback", limits=limits,
                        started_at=time.monotonic())

    def is_running(self, instance: Instance) -> bool:
        return True

    def logs(self, instance: Instance, tail: int = 40) -> str:
        return ""

    def stop(self, instance: Instance, grace_s: float | None = None) -> None:
        instance.extra["stop_seconds"] = 0.01

    def idle_memory_bytes(self, instance: Instance) -> int | None:
        return 4096

    def reap_orphans(self) -> list[str]:
        return []

    def down(self, session: str | None = None) -> list[str]:
        return []

    def logs_of_kept(self, server: Server, tail: int) -> str:
        return ""


@pytest.fixture()
def fake_runtime(local_http, monkeypatch):
    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)   # the Date check's wait, not its logic
    return FakeRuntime(local_http)


# -- documents built by the domain code -----------------------------------------------------


@pytest.mark.serial   # measures the server in this process
def test_run_document(fake_runtime):
    from labctl import runner

    document = runner.run_server(fake_runtime, get_server("go"),
                                 runner.RunOptions(samples=3, warmup=1))
    assert document["schema"] == "labctl.run/1"
    assert_conforms(document)
    assert "µs" in assert_renders(document)
    # The curl reference series is declared as a required part of every new run document
    # (NotRequired only for results saved before it): here it was measured.
    assert document["one_shot_curl"]["measured"] is (shutil.which("curl") is not None)


@pytest.mark.serial   # measures the server in this process
def test_run_document_without_curl_says_why(fake_runtime, monkeypatch, tmp_path):
    from labctl import runner

    monkeypatch.setenv("PATH", str(tmp_path))   # no curl program
    document = runner.run_server(fake_runtime, get_server("go"),
                                 runner.RunOptions(samples=3, warmup=1))
    assert_conforms(document)
    part = document["one_shot_curl"]
    assert part["measured"] is False and part["endpoints"] == {} and part["gap"] is None
    shown = " ".join(assert_renders(document).split())
    assert 'No "curl, one process per request" row: no curl program on this machine\'s PATH' \
        in shown


@pytest.mark.serial   # measures the server in this process
def test_documents_measured_from_another_engine(fake_runtime):
    """--client-context adds ``between_engines`` to run, compare, load and verify: both engines
    and the sentence saying the network is in the figures, shown in every rendering too."""
    from labctl import compare, loadtest, runner
    from labctl.measure import loadgen
    from labctl.runtime.client_engine import ClientEngine, ServerAddress
    from labctl.runtime.engine import EngineLocation

    location = EngineLocation(endpoint="ssh://root@10.0.0.7", remote=True, machine="10.0.0.7",
                              context="lan", source="--context")
    facts = {**location.as_dict(), "name": "lan-box", "id": "B", "version": "28.2.2",
             "api_version": "1.50", "os": "linux", "cpus": 4}
    part = ClientEngine(runtime=types.SimpleNamespace(location=location), context="lan",
                        server_address=ServerAddress("192.168.1.20", "a test"), same_engine=False,
                        server_facts={**facts, "id": "A"}, client_facts=facts).as_dict()
    documents_built = [
        runner.run_server(fake_runtime, get_server("go"), runner.RunOptions(samples=3, warmup=1)),
        compare.run_compare(fake_runtime, [get_server("go")],
                            compare.CompareOptions(samples=10, warmup=1, cold_starts=1)),
        verification.verify_servers(fake_runtime, [get_server("go")], Limits()),
    ]
    options = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2,
                                  generator="builtin")
    prepared = loadtest.prepare(fake_runtime, get_server("go"), options)
    documents_built.append(loadtest.run(fake_runtime, get_server("go"), prepared, options,
                                        Limits()))
    for document in documents_built:
        document["between_engines"] = part
        assert_conforms(document)
        shown = " ".join(assert_renders(document).split())
        assert "includes the network between two Docker engines" in shown, document["schema"]


@pytest.mark.serial   # measures the server in this process
def test_compare_document(fake_runtime):
    from labctl import compare

    options = compare.CompareOptions(samples=10, warmup=1, cold_starts=2)
    document = compare.run_compare(fake_runtime, [get_server("go"), get_server("node")], options)
    assert document["schema"] == "labctl.compare/1"
    assert_conforms(document)
    shown = assert_renders(document)
    if shutil.which("curl"):
        assert document["parameters"]["one_shot_curl"]["measured"] is True
        assert document["servers"]["go"]["one_shot_curl"]["/health"]["samples"] > 0
        assert "curl, one process per request p50" in shown
        # The reading names the one-shot figure and labctl's new-connection figure for it.
        go = document["servers"]["go"]
        curl_p50 = go["one_shot_curl"]["/health"]["summary"]["p50"]
        new_p50 = go["latency"]["/health"]["fresh"]["summary"]["p50"]
        assert any(f"Go net/http {curl_p50:.0f} µs against {new_p50:.0f} µs" in sentence
                   for sentence in document["analysis"]["reading"]), document["analysis"]


@pytest.mark.serial   # measures the server in this process
def test_compare_document_with_load(fake_runtime):
    from labctl import compare
    from labctl.measure import loadgen

    options = compare.CompareOptions(samples=10, warmup=1, cold_starts=1)
    options.load = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2,
                                       generator="builtin")
    document = compare.run_compare(fake_runtime, [get_server("go")], options,
                                   run_load=loadgen.load_for_compare)
    assert document["servers"]["go"]["load"]["requests"] > 0
    assert_conforms(document)


@pytest.mark.serial   # measures the server in this process
def test_load_document(fake_runtime):
    from labctl import loadtest
    from labctl.measure import loadgen

    options = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2,
                                  generator="builtin")
    prepared = loadtest.prepare(fake_runtime, get_server("go"), options)
    document = loadtest.run(fake_runtime, get_server("go"), prepared, options, Limits(),
                            warmup_s=0.1)
    assert document["schema"] == "labctl.load/1" and document["load"]["requests"] > 0
    assert_conforms(document)
    assert "requests/s" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_lab_document(fake_runtime):
    from labctl.labs import bottleneck
    from labctl.measure import loadgen

    def fake_step(runtime, instance, path: str) -> Mapping[str, Any]:
        result = loadgen.LoadResult(
            generator="wrk", version="4.1", where="host", where_detail="a fake", client_cpuset="0",
            target_url=instance.url + path, options=loadgen.LoadOptions(path=path), threads=1,
            requests=1000, duration_s=1.0, latency_us={"p50": 900.0, "p90": 1200.0,
                                                        "p99": 2000.0, "max": 3000.0},
            percentile_kind="fake", errors={"connect": 0, "read": 0, "write": 0, "timeout": 0},
            non_2xx=0, non_2xx_definition="fake")
        return result.as_dict()

    document = bottleneck.run_lab(fake_runtime, [get_server("go")], connections=10,
                                  duration_s=1.0, limits=Limits(), run_step=fake_step)
    assert document["schema"] == "labctl.lab.bottleneck/1"
    assert_conforms(document)
    assert "The bottleneck lab" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_edge_cases_document(fake_runtime, tmp_path):
    from labctl.labs import edgecases, predictions

    chosen = [c for c in edgecases.CASES if c.number in (7, 12, 19)]
    document = edgecases.run_lab(fake_runtime, [get_server("go"), get_server("python")],
                                 limits=Limits(), python_parser="h11", cases=tuple(chosen))
    mine = tmp_path / "mine.toml"
    mine.write_text("[go]\n7 = 400\n[python]\n19 = 405\n")
    cells = {column: entry["cells"] for column, entry in document["servers"].items()}
    document["your_predictions"] = predictions.score(predictions.load(mine), cells,
                                                     edgecases.judge_learner)
    assert document["schema"] == "labctl.lab.edge-cases/1"
    assert_conforms(document)
    assert "The edge-cases lab" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_slow_clients_document(fake_runtime):
    from labctl.labs import slowclients

    settings = slowclients.Settings(connections=2, interval_s=0.1, window_s=0.5,
                                    normal_every_s=0.05, normal_timeout_s=1.0, baseline_s=0.2)
    document = slowclients.run_lab(fake_runtime, [get_server("node")], limits=Limits(),
                                   settings=settings)
    assert document["schema"] == "labctl.lab.slow-clients/1"
    assert_conforms(document)
    assert "The slow-clients lab" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_shutdown_document(fake_runtime):
    from labctl.labs import shutdown

    settings = shutdown.Settings(idle=1, long=1, grace_s=1.0)
    document = shutdown.run_lab(fake_runtime, [get_server("rust")], limits=Limits(),
                                settings=settings)
    assert document["schema"] == "labctl.lab.shutdown/1"
    assert_conforms(document)
    assert "The shutdown lab" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_verify_document(fake_runtime):
    document = verification.verify_servers(fake_runtime, [get_server("python")], Limits())
    assert_conforms(document)
    assert "GET / body" in assert_renders(document)


@pytest.mark.serial   # measures the server in this process
def test_results_and_diff_documents(fake_runtime):
    from labctl import runner
    from labctl.results import diff as resultdiff
    from labctl.results import store

    first = runner.run_server(fake_runtime, get_server("go"), runner.RunOptions(samples=3))
    second = runner.run_server(fake_runtime, get_server("go"), runner.RunOptions(samples=3))
    store.save_result("run", first)
    store.save_result("run", second)
    listing = json.loads(runner_json(["results", "--json"]))
    assert len(listing["results"]) == 2
    assert_conforms(listing)
    assert_renders(listing)
    changes = resultdiff.diff(first, second)
    assert_conforms(changes)
    assert "Differences" in assert_renders(changes)
    assert json.loads(runner_json(["results", "show", first["id"], "--json"])) == first


# -- documents printed by commands that need no engine --------------------------------------


def runner_json(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), result.stderr   # 2: doctor finds nothing can run
    return result.stdout


@pytest.mark.parametrize("args, schema", [
    (["servers", "--json", "--runtime", "local"], "labctl.servers/1"),
    (["doctor", "--json"], "labctl.doctor/1"),
    (["lessons", "--json"], "labctl.lessons/1"),
    (["lessons", "check", "--json"], "labctl.lessons.check/1"),
    (["next", "--json"], "labctl.next/1"),
])
def test_command_documents(args, schema, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    document = json.loads(runner_json(args))
    assert document["schema"] == schema
    assert_conforms(document)
    if schema in ("labctl.servers/1", "labctl.doctor/1"):
        assert_renders(document)


def test_quiz_answers_document(tmp_path):
    answers = tmp_path / "answers.toml"
    answers.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["quiz", "000", "--answers", str(answers), "--json",
                                 "--no-record"])
    document = json.loads(result.stdout)
    assert document["schema"] == "labctl.quiz.grade/1"
    assert_conforms(document)
