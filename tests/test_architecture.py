"""The architecture, measured from the code: no import cycle inside labctl/, and imports that only
run down the wings (commands → labs, learning and the runs → results → measure → runtime → the
base modules). Function-level imports count; imports only for type checking do not (they never
run). The layers are stated here once; a new module finds its layer by its folder."""

from __future__ import annotations

import ast
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import fake_load_result
from test_contracts import FakeRuntime, local_http  # noqa: F401 - local_http: a fixture
from typer.testing import CliRunner

import labctl
from labctl.cli import app

PACKAGE = Path(labctl.__file__).resolve().parent

# Lower numbers are lower layers; a module may import its own layer or any lower one.
WING_LAYERS = {"runtime": 1, "measure": 2, "results": 3, "labs": 4, "learning": 4, "commands": 6}
# The top-level modules that run a whole command's work (above the wings they combine).
RUNS = {"runner", "compare", "loadtest", "verification", "doctor"}
ENTRY = {"cli", "__main__"}
# Declarations every layer may import: the documents' keys are the contract each producer, in
# whatever wing, is typed against. They import nothing of labctl when they run (tested below).
DECLARATIONS = {"labctl.results.documents"}
MAX_TOP_LEVEL_MODULES = 16


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")[1:]
    if not parts or module in DECLARATIONS:
        return 0
    if len(parts) > 1 or (PACKAGE / parts[0]).is_dir():   # a wing, or a module in one
        return WING_LAYERS.get(parts[0], 0)
    if parts[0] in RUNS:
        return 5
    if parts[0] in ENTRY:
        return 7
    return 0


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text()), package, modules) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_labctl():
    assert cycles(import_graph()) == []


def test_imports_only_run_down_the_layers():
    upward = [f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
              for module, targets in sorted(import_graph().items()) for target in sorted(targets)
              if layer(target) > layer(module)]
    assert upward == []


def test_the_declarations_import_nothing_of_labctl_when_they_run():
    for module in DECLARATIONS:
        assert import_graph()[module] == set()


def test_the_top_level_stays_small():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_every_module_opens_with_a_sentence_saying_what_it_is():
    silent = [module_name(p) for p in PACKAGE.rglob("*.py")
              if "_data" not in p.parts and p.stat().st_size
              and not ast.get_docstring(ast.parse(p.read_text()))]
    assert silent == []


# -- one output layer: every schema has a renderer, and each draws a real document -----------


def test_every_schema_has_a_renderer():
    from labctl.results import documents, render

    missing = [schema for schema in documents.SCHEMAS
               if render.renderer_for({"schema": schema}) is None]
    assert missing == []


def _producers() -> dict[str, list[Any]]:
    """Each schema's producers that are functions, by schema; the commands that build their
    document inline (servers, lessons, next, exercises) annotate the variable instead."""
    from labctl import compare, doctor, loadtest, runner, verification
    from labctl.labs import bottleneck, edgecases, profile, proxy, shutdown, slowclients
    from labctl.learning import quiz
    from labctl.results import diff, store

    return {
        "labctl.run/1": [runner.run_server],
        "labctl.compare/1": [compare.run_compare],
        "labctl.load/1": [loadtest.run, loadtest.load_document],
        "labctl.lab.bottleneck/1": [bottleneck.run_lab],
        "labctl.lab.edge-cases/1": [edgecases.run_lab, edgecases.PLUGIN.run],
        "labctl.lab.slow-clients/1": [slowclients.run_lab],
        "labctl.lab.shutdown/1": [shutdown.run_lab],
        "labctl.lab.proxy/1": [proxy.run_lab],
        "labctl.lab.profile/1": [profile.run_lab],
        "labctl.verify/1": [verification.verify_servers],
        "labctl.doctor/1": [doctor.report],
        "labctl.results/1": [store.listing],
        "labctl.diff/1": [diff.diff],
        "labctl.quiz.grade/1": [quiz.FileGrade.to_json],
    }


def test_every_producer_returns_its_declaration():
    """A producer that says it returns its schema's TypedDict is checked by mypy against the
    declaration, key by key; one that returns a plain dict is not. Each producer here says so."""
    from labctl.results import documents

    wrong = []
    for schema, producers in _producers().items():
        declared = documents.SCHEMAS[schema]
        for producer in producers:
            returned = producer.__annotations__.get("return")
            if returned not in (declared, declared.__name__):
                wrong.append(f"{producer.__module__}.{producer.__qualname__} -> {returned}")
    assert wrong == []


@pytest.fixture()
def fake_runtime(local_http, monkeypatch):  # noqa: F811 - the fixture imported above
    from labctl.measure import verify

    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)   # the Date check's wait, not its logic
    return FakeRuntime(local_http)


def _sample_documents(fake_runtime, tmp_path, monkeypatch) -> list[Mapping[str, Any]]:
    """One document of each schema, built by the code that builds it (the engine-free runtime of
    test_contracts.py), or taken from a test's fixture where only an engine could build it."""
    import copy
    import json

    from test_contracts import runner_json
    from test_overload_unit import _document as overload_document
    from test_profile_lab import profile_document
    from test_terminal_width import _proxy_document

    from labctl import compare, loadtest, runner, verification
    from labctl.commands import common
    from labctl.labs import bottleneck, edgecases, shutdown, slowclients
    from labctl.measure import loadgen
    from labctl.results import diff, store
    from labctl.results.documents import LoadPart
    from labctl.runtime.base import Limits
    from labctl.servers import get as get_server

    go = get_server("go")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    first = runner.run_server(fake_runtime, go, runner.RunOptions(samples=3, warmup=1))
    second = copy.deepcopy(first)     # a second result to list and to diff against
    store.save_result("run", first)
    store.save_result("run", second)
    load = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2, generator="builtin")

    def fake_step(runtime, instance, path: str) -> LoadPart:
        return fake_load_result(instance.url, path, 1000, {
            "p50": 900.0, "p90": 1200.0, "p99": 2000.0, "max": 3000.0})

    answers = tmp_path / "answers.json"
    answers.write_text('{"blocking-rps": 21}', encoding="utf-8")
    workspace = tmp_path / "workspace"
    runner_json(["exercise", "start", "python-head", "--dir", str(workspace)])
    monkeypatch.setattr(common, "prepare_runtime", lambda name=None: fake_runtime)
    checked = CliRunner().invoke(app, ["exercise", "check", "python-head", "--json"])
    return [
        first,
        compare.run_compare(fake_runtime, [go], compare.CompareOptions(samples=10, warmup=1,
                                                                       cold_starts=1)),
        loadtest.run(fake_runtime, go, loadtest.prepare(fake_runtime, go, load), load, Limits()),
        bottleneck.run_lab(fake_runtime, [go], connections=10, duration_s=1.0, limits=Limits(),
                           run_step=fake_step),
        edgecases.run_lab(fake_runtime, [go], limits=Limits(), python_parser="h11",
                          cases=tuple(c for c in edgecases.CASES if c.number in (7, 12))),
        slowclients.run_lab(fake_runtime, [go], limits=Limits(), settings=slowclients.Settings(
            connections=1, interval_s=0.1, window_s=0.2, normal_every_s=0.05,
            normal_timeout_s=0.5, baseline_s=0.2)),
        shutdown.run_lab(fake_runtime, [go], limits=Limits(),
                         settings=shutdown.Settings(idle=1, long=1, grace_s=1.0)),
        _proxy_document(),
        profile_document(),
        overload_document(),
        verification.verify_servers(fake_runtime, [go], Limits()),
        diff.diff(first, second),
        json.loads(checked.stdout),
        *(json.loads(runner_json(args)) for args in (
            ["servers", "--json", "--runtime", "local"], ["doctor", "--json"], ["results", "--json"],
            ["lessons", "--json"], ["lessons", "check", "--json"], ["next", "--json"],
            ["exercises", "--json"], ["exercises", "check", "--json"])),
        json.loads(CliRunner().invoke(app, ["quiz", "003", "--answers", str(answers), "--json",
                                            "--no-record"]).stdout),
    ]


@pytest.mark.serial   # measures the server in this process
def test_every_schema_renders_a_real_document(fake_runtime, tmp_path, monkeypatch):
    """The terminal view of every document comes from results/ (render.RENDERERS): what
    `labctl results show` and each command print, and what --json prints, cannot disagree."""
    from rich.console import Console

    from labctl import ui
    from labctl.results import documents, render

    samples = _sample_documents(fake_runtime, tmp_path, monkeypatch)
    assert sorted(document["schema"] for document in samples) == sorted(documents.SCHEMAS)
    for document in samples:
        console = Console(width=80, record=True, theme=ui.THEME, file=io.StringIO())
        console.print(render.renderer_for(document)(document))
        assert console.export_text().strip(), document["schema"]
