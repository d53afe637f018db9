"""`labctl lab`: the lessons' labs as commands. `labctl lab bottleneck` is lesson 003's,
`edge-cases` 005's, `slow-clients` 006's, `shutdown` 007's, `overload` 008's, `profile` 010's.

Each command declares only its lab's own options; the rest of a lab's run (servers, prediction
sheet, runtime, limits, scoring, saving, rendering) is ``run_plugin``'s, the same for every lab
(the plug-in protocol is in ``labctl/labs/__init__.py``).
"""

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.group import command_group
from labctl.commands.options import (
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    ServersArgument,
)
from labctl.errors import LabctlError, UsageProblem

if TYPE_CHECKING:
    from labctl.labs import LabPlugin
    from labctl.results.documents import LoadPart

lab_app = command_group(help="Run a lesson's lab: its try-it list as one command.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")


# The bottleneck lab's --quick steps: long enough for a 50 ms wait to show 20 requests/s from a
# stalled event loop against hundreds from one that is not.
QUICK_BOTTLENECK_STEP = "2s"


@lab_app.command("bottleneck")
def bottleneck_command(
    names: ServersArgument = None,
    connections: Annotated[int, typer.Option(
        "--connections", "-c", min=1, max=1000,
        help="Open connections of the load generator.")] = 10,
    duration: Annotated[str, typer.Option(
        "--duration", "-d", help="Each step's load, e.g. 5s.")] = "5s",
    quick: Annotated[bool, typer.Option(
        "--quick", help=f"Steps of {QUICK_BOTTLENECK_STEP} (instead of --duration): about "
                        "20 s per server.")] = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 003: a slow dependency, blocking against non-blocking, sequential against parallel.

    For each server: load on /users/42 with no delay, with a 50 ms blocking wait, with a 50 ms
    non-blocking wait, then /aggregate sequential and parallel; the lesson's prediction next to
    each measurement.
    """
    from labctl import servers
    from labctl.labs import bottleneck
    from labctl.measure import loadgen
    from labctl.results import render
    from labctl.runtime.cpus import client_cpuset

    chosen = servers.select(names)
    from labctl.durations import duration_option

    duration_s = duration_option(QUICK_BOTTLENECK_STEP if quick else duration, "--duration")
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)   # the engine's cores (after prepare_runtime)
    base_options = loadgen.LoadOptions(connections=connections, duration_s=duration_s)

    with build_status("preparing the bottleneck lab") as (on_line, on_phase):
        generator = loadgen.prepare_generator(runtime, base_options, on_line)

        def run_step(rt, instance, path: str) -> "LoadPart":
            options = replace(base_options, path=path)
            return loadgen.run_load(rt, instance, options, client_cpuset(instance.limits),
                                    generator=generator, warmup_s=1.0).as_dict()

        document = bottleneck.run_lab(runtime, chosen, connections=connections,
                                      duration_s=duration_s, limits=limits, run_step=run_step,
                                      on_phase=on_phase, on_build_line=on_line)
    _show_and_save(dict(document), render.render_lab_bottleneck, json_out)


PREDICT_HELP = ("Your own predictions, written before the run (TOML or JSON: one table per "
                "server, row = answer); the lab scores them. --sheet prints a blank one.")
PredictOption = Annotated[Optional[Path], typer.Option(
    "--predict", help=PREDICT_HELP, show_default=False, dir_okay=False)]
SheetOption = Annotated[bool, typer.Option(
    "--sheet", help="Print a blank predictions file for this lab and exit.")]


def _sheet_or_check_predictions(sheet: bool, predict: Path | None, blank_sheet) -> bool:
    """--sheet prints the blank predictions file (True: nothing else to do); a --predict file is
    read now, so a bad one fails before the lab runs rather than after it."""
    from labctl.labs import predictions

    if sheet:
        print(blank_sheet(), end="")
        return True
    if predict is not None:
        predictions.load(predict)
    return False


def _show_and_save(document: dict, view, json_out: bool) -> None:
    """Save the lab's document and show it; a save that fails is reported after the figures are
    on screen, so a full disk costs the learner nothing they have not seen. Above the figures
    and predictions: the runtime each server ran on, and a line for each whose version differs
    from the one the lab's lesson holds for."""
    from rich.console import Group
    from rich.text import Text

    from labctl.results import store
    from labctl.results.render import runtime_version_lines

    document["versions_vs_lesson"] = lesson_version_differences(document)
    with store.saved("lab", document):
        if json_out:
            ui.print_json_document(document)
        else:
            warnings = [Text(line, style="warn") for line in document["versions_vs_lesson"]["differences"]]
            ui.out().print(Group(*runtime_version_lines(document), *warnings, view(document)))


def lesson_version_differences(document: dict) -> dict:
    """The lesson whose lab this is (the one whose [lab] runs `labctl lab <name>`), and a line for
    each server whose runtime's major.minor differs from the lesson's `versions`."""
    from labctl.learning import lessons
    from labctl.runtime import versions

    lab = document.get("lab") or str(document.get("schema", "")).removeprefix("labctl.lab.").split("/")[0]
    ran = (document.get("runtime") or {}).get("servers_ran") or {}
    try:
        found, _ = lessons.load_all()
    except LabctlError:
        found = []
    lesson = next((lesson for lesson in found if lesson.lab and any(
        argv[:2] == ("lab", lab.replace("_", "-")) for argv in lesson.lab.commands)), None)
    if lesson is None:
        return {"lesson": None, "differences": []}
    return {"lesson": lesson.id, "differences": versions.lesson_differences(ran, dict(lesson.versions))}


def _score_predictions(document: dict, path: Path | None, judge, cell_of,
                       row_keys: dict | None = None) -> None:
    """Add the learner's scored predictions to the document (before it is saved); ``cell_of``
    turns one server's entry into its measured cells, row → cell."""
    if path is None:
        return
    from labctl.labs import predictions

    cells = {column: cell_of(entry) for column, entry in document["servers"].items()}
    document["your_predictions"] = predictions.score(predictions.load(path), cells, judge,
                                                     row_keys=row_keys)


def run_plugin(plugin: "LabPlugin", names: list[str] | None, settings: Any, *,
               predict: Path | None, sheet: bool, cpus: float, memory: int, json_out: bool,
               runtime_name: str | None) -> None:
    """The body every plug-in lab's command shares."""
    from labctl import servers
    from labctl.results import render

    chosen = servers.select(names)
    if plugin.sheet is not None and _sheet_or_check_predictions(
            sheet, predict, lambda: plugin.sheet(chosen, settings)):
        return
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)   # the engine's cores (after prepare_runtime)
    with build_status(f"preparing the {plugin.name} lab") as (on_line, on_phase):
        document = dict(plugin.run(runtime, chosen, limits=limits, settings=settings,
                                   on_phase=on_phase, on_build_line=on_line))
    if plugin.judge is not None and plugin.cells_of is not None:
        _score_predictions(document, predict, plugin.judge, plugin.cells_of,
                           plugin.row_keys() if plugin.row_keys else None)
    _show_and_save(document, render.renderer_for(document), json_out)


@lab_app.command("edge-cases")
def edge_cases_command(
    names: ServersArgument = None,
    python_parser: Annotated[str, typer.Option(
        "--python-parser",
        help="The Python server's HTTP parser: h11, httptools, or both (two columns).")] = "both",
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 005: odd HTTP/1.1 requests, and where the four parsers disagree.

    About 20 requests sent byte by byte; status and connection per server, the RFC's
    requirement, the MUSTs broken, and where the prediction was wrong."""
    from labctl.labs import edgecases

    if python_parser not in (*edgecases.PYTHON_PARSERS, "both"):
        raise UsageProblem(f"unknown Python parser '{python_parser}'",
                           "Use h11, httptools or both")
    run_plugin(edgecases.PLUGIN, names, python_parser, predict=predict, sheet=sheet, cpus=cpus,
               memory=memory, json_out=json_out, runtime_name=runtime_name)


@lab_app.command("slow-clients")
def slow_clients_command(
    names: ServersArgument = None,
    connections: Annotated[int, typer.Option(
        "--connections", "-c", min=1, max=500,
        help="Trickling (slowloris) connections.")] = 20,
    window: Annotated[float, typer.Option(
        "--window", min=2.0, max=55.0,
        help="Seconds each run watches the trickling connections.")] = 15.0,
    quick: Annotated[bool, typer.Option(
        "--quick", help="10 connections, an 8 s window and a 1 s baseline (instead of -c, "
                        "--window and 2 s): about 20 s per server.")] = False,
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 006: a slowloris attack on each server, and what a normal client saw.

    Connections send one header byte a second, against each server as shipped and with its
    stack's default timeouts, while a normal client keeps requesting: when and how each
    trickling connection is cut, and what the normal client saw."""
    from labctl.labs import slowclients

    settings = (slowclients.QUICK if quick
                else slowclients.Settings(connections=connections, window_s=window))
    run_plugin(slowclients.PLUGIN, names, settings,
               predict=predict, sheet=sheet, cpus=cpus, memory=memory, json_out=json_out,
               runtime_name=runtime_name)


@lab_app.command("shutdown")
def shutdown_command(
    names: ServersArgument = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="A grace of 4 s before SIGKILL instead of docker stop's 10 s: the same "
                        "verdicts, and a server that ignores SIGTERM is killed sooner.")] = False,
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 007: stop each server mid-traffic, with and without its graceful handler.

    docker stop (or SIGTERM locally) while requests are in flight, connections sit idle and a
    steady client keeps asking. What each client got, and how long the stop took."""
    from labctl.labs import shutdown

    run_plugin(shutdown.PLUGIN, names, shutdown.QUICK if quick else shutdown.Settings(),
               predict=predict, sheet=sheet, cpus=cpus, memory=memory, json_out=json_out,
               runtime_name=runtime_name)


@lab_app.command("overload")
def overload_command(
    names: ServersArgument = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, max=10.0,
        help="The clients' timeout in seconds: a later answer is not goodput.")] = 1.0,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Two steps (0.5× and 2×) of 3 s: about 30 s per server, 40 s when its "
                        "cost is calibrated.")] = False,
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 008: past capacity, with load shedding off and on.

    Each server's capacity on GET /report (closed loop), then an open loop at 0.5× to 2× of it
    with a client timeout: goodput, 503s, timeouts and p99, with load shedding off and on
    (LOAD_SHEDDING=on); about 90 s per server."""
    from labctl.labs import overload

    run_plugin(overload.PLUGIN, names, overload.settings_for(quick, timeout), predict=predict,
               sheet=sheet, cpus=cpus, memory=memory, json_out=json_out,
               runtime_name=runtime_name)


@lab_app.command("profile")
def profile_command(
    names: ServersArgument = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Shorter loads (2 s each): fewer samples, a faster run.")] = False,
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 010: where each server's CPU time goes, in its own stack's profiler.

    pprof, py-spy, V8 or pprof-rs samples GET /report at 100 Hz under a closed-loop load: the
    top functions, the share of the handler, framework, runtime and kernel, and the profiler's
    overhead."""
    from labctl.labs import profile

    run_plugin(profile.PLUGIN, names, profile.QUICK if quick else profile.Settings(),
               predict=predict, sheet=sheet, cpus=cpus, memory=memory, json_out=json_out,
               runtime_name=runtime_name)


@lab_app.command("proxy")
def proxy_command(
    names: ServersArgument = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Small samples and short windows (under a minute a server): a smoke "
                        "test, not figures to quote.")] = False,
    show_config: Annotated[bool, typer.Option(
        "--show-config", help="Print the nginx configurations the lab generates and exit.")]
    = False,
    predict: PredictOption = None,
    sheet: SheetOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """Lesson 009: nginx in front of each server: the hop's cost, odd requests, restarts.

    The hop's cost (with upstream connections counted per 1,000 requests, with and without
    upstream keep-alive), the edge-cases rows through the proxy, slowloris through the proxy,
    and restarts behind it (one instance, then a rolling restart of two)."""
    from labctl.labs import proxy

    settings = proxy.QUICK if quick else proxy.Settings()
    if show_config:
        for variant, text in proxy.configs(settings.tightened_timeout_s).items():
            ui.out().print(f"# ---- variant: {variant} ----", markup=False, highlight=False)
            ui.out().print(text, markup=False, highlight=False, soft_wrap=True)
        return
    run_plugin(proxy.PLUGIN, names, settings, predict=predict, sheet=sheet, cpus=cpus,
               memory=memory, json_out=json_out, runtime_name=runtime_name)
