"""Every screen reads at 80 columns: rendered at 80, 100 and 140 columns (Rich Console(width=N)),
no renderer cuts a header, cuts an id, or wraps a table cell over more than two lines.

The documents are real: built by the code that builds them, with test_contracts.py's runtime
whose server is a small HTTP server in this process (no engine), plus small fixtures for what
that server cannot show (a built image, a changed source, a result list with long ids).
"""

from __future__ import annotations

import io
import json

import pytest
from conftest import fake_load_result
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from test_contracts import FakeRuntime, local_http  # noqa: F401 - local_http: a fixture
from typer.testing import CliRunner

from labctl import ui
from labctl.cli import app
from labctl.measure import verify
from labctl.results import render
from labctl.results.layout import Column, Fit
from labctl.runtime.base import Limits
from labctl.servers import get as get_server

WIDTHS = (80, 100, 140)
cli = CliRunner()


# -- the checker ----------------------------------------------------------------------------


def _cell_lines(console: Console, table: Table, width: int) -> list[tuple[str, int, str]]:
    """(header or cell text, lines it takes, its rendered text) for every cell of ``table``
    printed ``width`` wide. Rich's own column widths and cells (private, but the only exact
    answer): what the terminal gets."""
    options = console.options.update_width(width)
    widths = table._calculate_column_widths(console, options.update_width(
        (table.width or width) - table._extra_width))
    found = []
    for index, column in enumerate(table.columns):
        for number, cell in enumerate(table._get_cells(console, index, column)):
            lines = console.render_lines(cell.renderable, options.update_width(widths[index]),
                                         pad=False)
            shown = "\n".join("".join(segment.text for segment in line) for line in lines)
            kind = "header" if table.show_header and number == 0 else "cell"
            found.append((kind, len([line for line in lines if "".join(
                s.text for s in line).strip()]) or 1, shown))
    return found


def _walk(renderable: RenderableType, console: Console, width: int, found: list) -> None:
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            _walk(part, console, width, found)
    elif isinstance(renderable, Fit):
        for part in renderable.shapes(console, width):
            _walk(part, console, width, found)
    elif isinstance(renderable, Padding):
        _walk(renderable.renderable, console, width - renderable.left - renderable.right, found)
    elif isinstance(renderable, Table):
        found.extend(_cell_lines(console, table=renderable, width=width))


def problems(renderable: RenderableType, width: int, *, ids: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with ``renderable`` at ``width``: a cut (an ellipsis anywhere), an id not
    whole on one line, a header or a cell over two lines."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, theme=ui.THEME)
    console.print(renderable)
    printed = buffer.getvalue()
    found = []
    if "…" in printed:
        found += [f"cut at {width}: {line.strip()!r}" for line in printed.splitlines()
                  if "…" in line]
    lines = printed.splitlines()
    found += [f"id {id_} not whole on one line at {width}" for id_ in ids
              if not any(id_ in line for line in lines)]
    cells: list = []
    _walk(renderable, console, width, cells)
    found += [f"{kind} over {count} lines at {width}: {shown!r}" for kind, count, shown in cells
              if count > 2]
    if any(len(line) > width for line in lines):
        found.append(f"a line wider than {width}")
    return found


def assert_fits(renderable: RenderableType, *, ids: tuple[str, ...] = ()) -> None:
    found = [p for width in WIDTHS for p in problems(renderable, width, ids=ids)]
    assert not found, "\n".join(found)


def test_the_checker_catches_a_cut_header_a_cut_id_and_a_wrapped_cell():
    long_id = "20261203-164119.123456-compare-ab12"
    cut = Table("server", "trickling connections ended by")
    cut.add_row("go", "x" * 100)
    assert any("cut" in p for p in problems(cut, 80))
    ids = Table("id")
    ids.add_row(long_id)
    narrow = Table("id", width=20)
    narrow.add_row(long_id)
    assert any(long_id in p for p in problems(narrow, 80, ids=(long_id,)))
    assert problems(ids, 80, ids=(long_id,)) == []
    wrapped = Table("a", "b")
    wrapped.add_row("word " * 60, "x")
    assert any("cell over" in p for p in problems(wrapped, 80))


def test_a_fit_table_changes_shape_instead_of_cropping():
    columns = [Column("server", key=True), Column("a rather long header", group="one"),
               Column("p50", group="one"), Column("another long one", group="two"),
               Column("p99", group="two")]
    rows = [["go", "x" * 25, "1 ms", "y" * 25, "2 ms"], ["python", "z" * 25, "3 ms", "w" * 25,
                                                         "4 ms"]]
    table = Fit(columns, rows)
    console = Console(file=io.StringIO(), width=140)
    assert len(table.shapes(console, 140)) == 1            # side by side
    assert len(table.shapes(console, 60)) == 2             # one table per group
    stacked = table.shapes(console, 40)                    # one block per row
    assert isinstance(stacked[0], Text) and stacked[0].plain == "go"
    for width in (140, 60, 40):
        assert problems(table, width) == []


# -- documents built by the domain code (no engine) -----------------------------------------


@pytest.fixture()
def fake_runtime(local_http, monkeypatch):  # noqa: F811 - the fixture imported above
    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)
    return FakeRuntime(local_http)


FOUR = ("go", "python", "rust", "node")


@pytest.mark.serial   # measures the server in this process
def test_run_and_verify(fake_runtime):
    from labctl import runner, verification

    document = runner.run_server(fake_runtime, get_server("python"),
                                 runner.RunOptions(samples=3, warmup=1))
    assert_fits(render.render_run(document))
    checked = verification.verify_servers(fake_runtime, [get_server(n) for n in FOUR], Limits())
    assert_fits(render.render_verify(checked))


@pytest.mark.serial   # measures the server in this process
def test_compare_with_load(fake_runtime):
    from labctl import compare
    from labctl.measure import loadgen

    options = compare.CompareOptions(samples=10, warmup=1, cold_starts=1)
    options.load = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2,
                                       generator="builtin")
    document = compare.run_compare(fake_runtime, [get_server(n) for n in FOUR], options,
                                   run_load=loadgen.load_for_compare)
    document["id"] = "20261203-164119.123456-compare-ab12"
    # The fake server answers as Go does, so only Go passes its checks: the others get its
    # figures, so the table has four measured columns.
    import copy

    for entry in document["servers"].values():
        entry["latency"] = copy.deepcopy(document["servers"]["go"]["latency"])
    for entry in document["servers"].values():     # milliseconds, as on a loaded machine
        for by_mode in (entry.get("latency") or {}).values():
            for series in by_mode.values():
                series["summary"] = {k: v * 1000 + 12345.6 if isinstance(v, float) else v
                                     for k, v in series["summary"].items()}
    assert_fits(render.render_compare(document), ids=(document["id"],))


@pytest.mark.serial   # measures the server in this process
def test_load(fake_runtime):
    from labctl import loadtest
    from labctl.measure import loadgen

    options = loadgen.LoadOptions(path="/health", connections=2, duration_s=0.2,
                                  generator="builtin")
    prepared = loadtest.prepare(fake_runtime, get_server("node"), options)
    document = loadtest.run(fake_runtime, get_server("node"), prepared, options, Limits())
    assert_fits(render.render_load(document))


@pytest.mark.serial   # measures the server in this process
def test_bottleneck_lab(fake_runtime):
    from labctl.labs import bottleneck

    def fake_step(runtime, instance, path: str):
        return fake_load_result(instance.url, path, 123456, {
            "p50": 90000.0, "p90": 120000.0, "p99": 2000000.0, "max": 3000000.0})

    document = bottleneck.run_lab(fake_runtime, [get_server(n) for n in FOUR], connections=10,
                                  duration_s=1.0, limits=Limits(), run_step=fake_step)
    document["id"] = "20261203-164119.123456-lab-bottleneck-ab12"
    for entry in document["servers"].values():   # the longest timing a server reports
        for step in entry["steps"]:
            step["server_timing"]["server_timing_ms"] = {"db": 1250.0, "work": 1250.5,
                                                          "total": 3751.5}
    assert_fits(render.render_lab_bottleneck(document), ids=(document["id"],))


@pytest.mark.serial   # measures the server in this process
def test_edge_cases_lab(fake_runtime, tmp_path):
    from labctl.labs import edgecases, predictions

    chosen = tuple(c for c in edgecases.CASES if c.number in (1, 5, 7, 12, 13, 19))
    document = edgecases.run_lab(fake_runtime, [get_server(n) for n in FOUR], limits=Limits(),
                                 python_parser="h11", cases=chosen)
    mine = tmp_path / "mine.toml"
    mine.write_text("[go]\n7 = 400\n[python]\n19 = 405\n")
    cells = {column: entry["cells"] for column, entry in document["servers"].items()}
    document["your_predictions"] = predictions.score(predictions.load(mine), cells,
                                                     edgecases.judge_learner)
    # The widest cell the lab can print: an answer that breaks a MUST against the prediction.
    first = document["servers"]["go"]["cells"]["1"]
    first.update(outcome="no answer", breaks_must=True, prediction_holds=False)
    document["id"] = "20261203-164119.123456-lab-edge-cases-ab12"
    assert_fits(render.renderer_for(document)(document), ids=(document["id"],))


@pytest.mark.serial   # measures the server in this process
def test_slow_clients_lab(fake_runtime):
    from labctl.labs import slowclients

    settings = slowclients.Settings(connections=2, interval_s=0.1, window_s=0.5,
                                    normal_every_s=0.05, normal_timeout_s=1.0, baseline_s=0.2)
    document = slowclients.run_lab(fake_runtime, [get_server(n) for n in FOUR], limits=Limits(),
                                   settings=settings)
    run = document["servers"]["python"]["runs"]["shipped"]
    run["summary"]["ended_by"] = {"open at the end": 12, "closed": 7, "408": 1}
    run["server_still_running"] = False
    run["prediction_holds"] = False
    run["normal_during"].update(latency_p50_ms=12345.6, latency_max_ms=54999.9, errors=17,
                                requests=300)
    document["id"] = "20261203-164119.123456-lab-slow-clients-ab12"
    assert_fits(render.renderer_for(document)(document), ids=(document["id"],))


@pytest.mark.serial   # measures the server in this process
def test_shutdown_lab(fake_runtime):
    from labctl.labs import shutdown

    settings = shutdown.Settings(idle=3, long=3, grace_s=1.0)
    document = shutdown.run_lab(fake_runtime, [get_server(n) for n in FOUR], limits=Limits(),
                                settings=settings)
    run = document["servers"]["node"]["runs"]["graceful"]
    run["in_flight"] = [{"outcome": o, "ended_at_s": 1.0} for o in ("200", "empty reply", "reset")]
    run["steady"]["after_sigterm"] = {"refused": 120, "200": 3, "unreachable": 2, "timeout": 1}
    document["id"] = "20261203-164119.123456-lab-shutdown-ab12"
    assert_fits(render.renderer_for(document)(document), ids=(document["id"],))


# -- command documents and tables -----------------------------------------------------------


def _servers_document() -> dict:
    rows = []
    states = [{"up_to_date": True, "size_bytes": 10_300_000},
              {"up_to_date": False, "size_bytes": 186_500_000}, None,
              {"up_to_date": False, "size_bytes": 227_500_000}]
    for name, image in zip(FOUR, states, strict=True):
        server = get_server(name)
        rows.append({"name": name, "aliases": list(server.aliases), "language": server.language,
                     "framework": server.framework, "framework_version": "stdlib, go 1.26.0",
                     "base_image": "labctl-local/python:3.12-slim-bookworm", "image": image})
    return {"schema": "labctl.servers/1", "engine": "reachable", "servers": rows}


def test_servers_and_results_show_whole_ids():
    assert_fits(render.render_servers(_servers_document()),
                ids=("labctl-local/python:3.12-slim-bookworm",))
    ids = ("20261203-164119.123456-compare-ab12", "20261203-164120.654321-lab-slow-clients-0f3e",
           "20261203-164121.000001-lab-bottleneck-77aa")
    listing = {"schema": "labctl.results/1", "results": [
        {"id": id_, "kind": id_.split("-", 2)[2].rsplit("-", 1)[0],
         "created": "2026-12-03T16:41:19+00:00", "runtime": "docker",
         "servers": ["go", "python-h11", "python-httptools", "node"]} for id_ in ids]}
    assert_fits(render.render_results(listing), ids=ids)


@pytest.mark.serial   # measures the server in this process
def test_doctor_and_diff(monkeypatch, tmp_path, fake_runtime):
    from labctl import runner
    from labctl.results import diff

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = cli.invoke(app, ["doctor", "--json"])
    assert_fits(render.render_doctor(json.loads(result.stdout)))
    first = runner.run_server(fake_runtime, get_server("go"), runner.RunOptions(samples=3))
    second = runner.run_server(fake_runtime, get_server("go"), runner.RunOptions(samples=3))
    first["id"] = "20261203-164119.123456-run-ab12"
    second["id"] = "20261203-164120.123456-run-cd34"
    assert_fits(render.render_diff(diff.diff(first, second)), ids=(first["id"], second["id"]))


def test_lessons_and_exercises_tables():
    from labctl.learning import exercises, lessons, quiz_ui
    from labctl.learning.progress import Progress, now

    found, _ = lessons.load_all()
    progress = Progress.load()
    statuses = {lesson.id: progress.lesson_status(lesson, now()) for lesson in found}
    states = {lesson.id: [(name, "not started") for name in lesson.lab.exercises]
              for lesson in found if lesson.lab and lesson.lab.exercises}
    assert_fits(quiz_ui.lessons_table(found, statuses, exercise_states=states))
    assert_fits(quiz_ui.lessons_table(found, statuses, numbered=True, exercise_states=states))
    assert exercises.load_all()


def test_a_graded_answers_file(tmp_path):
    from labctl.learning import DEFAULT_PASS_MARK, lessons, quiz, quiz_ui

    lesson = next(x for x in lessons.load_all()[0] if x.number == "003")
    answers = {item.id: "a" for item in lesson.items}     # numbers answered with a letter
    graded = quiz.grade_file(lesson, answers, DEFAULT_PASS_MARK)
    assert any(result.message for result in graded.results)
    assert_fits(quiz_ui.graded_table(graded))


@pytest.mark.parametrize("width", WIDTHS)
def test_commands_print_nothing_cut(width, monkeypatch, tmp_path):
    """The commands as a learner types them, through the console every command prints on."""
    monkeypatch.setattr(ui.console, "width", width)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    answers = tmp_path / "answers.toml"
    answers.write_text('blocking-rps = "a"\nnode-sync-call = "a"\n', encoding="utf-8")
    for args in (["lessons"], ["exercises"], ["next"], ["results"], ["doctor"],
                 ["servers", "--runtime", "local"], ["quiz", "003", "--answers", str(answers),
                                                     "--no-record"]):
        result = cli.invoke(app, args)
        lines = result.stdout.splitlines()
        assert lines, args
        assert not [line for line in lines if "…" in line or len(line) > width], (args, width)


def test_profile_lab():
    from test_profile_lab import profile_document

    from labctl.results import lab_render

    assert_fits(lab_render.profile(profile_document()))


def _proxy_document() -> dict:
    """A proxy-lab document shaped as the lab writes it, four servers, with the longest cells
    the lab can produce (the edge-cases lab's real request titles, five-figure latencies)."""
    from labctl.labs import edgecases

    series = {"requests": 1000, "not_200": 17, "p50_us": 143_285, "p99_us": 1_442_005,
              "p99_is_max": False}
    paths = ("direct", "nginx defaults", "upstream keep-alive")
    hop = {"requests_per_series": 1000, "counted_by": "Tcp PassiveOpens in the server's netns",
           "latency_us": {p: {m: dict(series) for m in ("fresh", "kept-alive")} for p in paths},
           "upstream_per_1000": {p: {"fresh": 1000.0, "kept-alive": 1000.0} for p in paths},
           "upstream_connections": {p: {"fresh": 1001, "kept-alive": 1000} for p in paths}}
    rows = {str(c.number): {"nginx": "rewritten", "disagree": True, "direct": "100 → 200 close",
                            "through_nginx": "200, 200 keep"} for c in edgecases.CASES}
    slow_run = {"client_header_timeout_s": 60, "how": "open at the end", "after_s": 10.25,
                "summary": {"ended_by": {"open at the end": 12, "closed": 8}},
                "normal_during": {"latency_p50_ms": 1234.5, "errors": 12, "requests": 500},
                "server_accepted": 1500, "server_accepted_from_attack": 0}
    restart = {"requests": 12_345, "failed": 2_377, "restarts": [{"down_s": 33.1}, {"down_s": 2.5}],
               "outcomes": {"200": 9_968, "502": 2_300, "no answer": 77}}
    entry = {"language": "Python", "framework": "FastAPI", "hop": hop,
             "odd": {"counts": {"refused": 12, "rewritten": 3, "unchanged": 7}, "rows": rows},
             "slowloris": {"defaults": slow_run, "tightened": dict(slow_run, client_header_timeout_s=3)},
             "restarts": {"one": restart, "rolling": restart},
             "prediction_holds": {"hop-defaults": False, "restart-rolling": True}}
    return {"schema": "labctl.lab.proxy/1", "id": "20261203-183448.872731-lab-6bc7",
            "nginx": {"version": "nginx/1.22.1", "source": "Debian's nginx package",
                      "limits": {"cpus": 1.0, "memory_mb": 128, "cpuset": "0"}},
            "limits": {"cpus": 1.0, "memory_mb": 512, "cpuset": "1"},
            "parameters": {"slow_connections": 20, "slow_window_s": 10.0,
                           "steady_client": "GET /health on a new connection every 20 ms",
                           "after_restart": "labctl reloads nginx"},
            "predicted": {"hop-defaults": {"text": "1000 upstream connections per 1,000"}},
            "forwarded": {"13": {"rewrites": ["absolute-form target sent as a path"]}},
            "cases": [{"number": c.number, "title": c.title} for c in edgecases.CASES],
            "servers": {name: dict(entry) for name in ("go", "python", "rust", "node")}}


def test_proxy_lab():
    from labctl.results import proxy_render

    document = _proxy_document()
    assert_fits(proxy_render.proxy(document), ids=(document["id"],))
