"""`labctl lab`: the lessons' labs as commands. `labctl lab bottleneck` is lesson 003's,
`edge-cases` 005's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from labctl import bottleneck, edgecases, lab_render, loadgen, predictions, servers, store, ui
from labctl.commands.common import (
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    build_status,
    default_limits,
    prepare_runtime,
)
from labctl.cpus import client_cpuset, cores
from labctl.errors import LabctlError

lab_app = typer.Typer(help="Run a lesson's lab: its try-it list as one command.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")


@lab_app.command("bottleneck")
def bottleneck_command(
    names: list[str] = typer.Argument(None, help="Servers (default: all four).",
                                      show_default=False),
    connections: int = typer.Option(10, "--connections", "-c", min=1, max=1000,
                                    help="Open connections of the load generator."),
    duration: str = typer.Option("5s", "--duration", "-d", help="Each step's load, e.g. 5s."),
    cpus: float = CpusOption,
    memory: int = MemoryOption,
    json_out: bool = JsonOption,
    runtime_name: str = RuntimeOption,
) -> None:
    """Lesson 003: a slow dependency, blocking against non-blocking, sequential against parallel.

    For each server: load on /users/42 with no delay, with a 50 ms blocking wait, with a 50 ms
    non-blocking wait, then /aggregate sequential and parallel; the lesson's prediction next to
    each measurement.
    """
    chosen = servers.select(names)
    try:
        duration_s = loadgen.parse_duration(duration)
    except ValueError as exc:
        raise LabctlError(str(exc), exit_code=2) from None
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)
    base_options = loadgen.LoadOptions(connections=connections, duration_s=duration_s)

    with build_status("preparing the bottleneck lab") as (on_line, on_phase):
        generator = loadgen.prepare_generator(runtime, base_options, on_line)

        def run_step(rt, instance, path: str) -> dict:
            options = replace(base_options, path=path)
            return loadgen.run_load(rt, instance, options, client_cpuset(instance.limits),
                                    generator=generator, warmup_s=1.0).as_dict()

        document = bottleneck.run_lab(runtime, chosen, connections=connections,
                                      duration_s=duration_s, limits=limits, run_step=run_step,
                                      on_phase=on_phase, on_build_line=on_line)
    store.save_result("lab", document)
    if json_out:
        ui.print_json_document(document)
        return
    render(document)


def render(document: dict) -> None:
    out = ui.out()
    params = document["parameters"]
    limits = document["limits"]
    cpuset = f" on CPU {limits['cpuset']}" if limits.get("cpuset") is not None else ""
    out.print(Text.assemble(
        ("The bottleneck lab", "label"),
        f" — closed loop, {params['connections']} kept-alive connections, "
        f"{params['duration_s']:g} s per step after a 1 s discarded warm-up; each server "
        f"limited to {cores(limits['cpus'])}{cpuset}; prediction agrees when requests/s is "
        f"within ±{params['tolerance']:.0%}."))
    for name, entry in document["servers"].items():
        out.print()
        table = Table(title=f"{entry['language']} {entry['framework']} — {entry['concurrency']}",
                      title_justify="left", show_edge=False, pad_edge=False)
        for column, justify in (("step", "left"), ("predicted req/s", "right"),
                                ("measured req/s", "right"), ("gap", "right"),
                                ("p50", "right"), ("p99", "right"),
                                ("server's own timing", "left")):
            table.add_column(column, justify=justify)
        for step in entry["steps"]:
            predicted = step["prediction"]["requests_per_s"]
            measured = step["measured"]
            gap = step["gap"]
            gap_text = Text("–") if gap is None else Text(
                f"{gap:+.0%}", style="ok" if step["agrees"] else "warn")
            timing = step["server_timing"]["server_timing_ms"]
            timing_text = ", ".join(f"{k} {v:.1f}" for k, v in timing.items()) + " ms" \
                if timing else "–"
            rps = Text(f"{measured['requests_per_s']:,.0f}", style="figure")
            if measured["flagged"]:
                rps.append(" FLAGGED", style="fail")
            table.add_row(step["title"], "–" if predicted is None else f"{predicted:,.0f}", rps,
                          gap_text, _ms(measured["latency_p50_ms"]),
                          _ms(measured["latency_p99_ms"]), timing_text)
        out.print(table)
        for step in entry["steps"]:
            out.print(Text(f"• {step['title']}: {step['sentence']}"))
            for reason in step["measured"]["reasons"]:
                out.print(Text(f"  flagged: {reason}", style="fail"))
    out.print()
    out.print(Text("p50/p99: latency each client saw, from the load generator (wrk's histogram); "
                   "server's own timing: the Server-Timing header of one request sent alone.",
                   style="muted"))
    if document.get("id"):
        out.print(Text(f"saved as {document['id']}", style="muted"))


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


PredictOption = typer.Option(None, "--predict", help=predictions.PREDICT_HELP, show_default=False,
                             dir_okay=False)
SheetOption = typer.Option(False, "--sheet",
                           help="Print a blank predictions file for this lab and exit.")


@lab_app.command("edge-cases")
def edge_cases_command(
    names: list[str] = typer.Argument(None, help="Servers (default: all four).",
                                      show_default=False),
    python_parser: str = typer.Option(
        "both", "--python-parser",
        help="The Python server's HTTP parser: h11, httptools, or both (two columns)."),
    predict: Path = PredictOption,
    sheet: bool = SheetOption,
    cpus: float = CpusOption,
    memory: int = MemoryOption,
    json_out: bool = JsonOption,
    runtime_name: str = RuntimeOption,
) -> None:
    """Lesson 005: about 20 odd HTTP/1.1 requests sent byte by byte; status and connection
    per server, the RFC's requirement, the MUSTs broken, and where the prediction was wrong."""
    chosen = servers.select(names)
    if python_parser not in (*edgecases.PYTHON_PARSERS, "both"):
        raise LabctlError(f"unknown Python parser '{python_parser}'",
                          "Use h11, httptools or both", exit_code=2)
    keys = [c.key for c in edgecases.columns(chosen, python_parser)]
    if sheet:
        print(predictions.sheet(
            "labctl lab edge-cases", keys,
            [(str(c.number), c.title) for c in edgecases.CASES],
            'An answer is a status (400), a status and the connection ("200 open", '
            '"200 closed"), "closed" (no answer), or for row 11 "100 → 200".'), end="")
        return
    mine = predictions.load(predict) if predict else None
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)
    with build_status("preparing the edge-cases lab") as (on_line, on_phase):
        document = edgecases.run_lab(runtime, chosen, limits=limits, python_parser=python_parser,
                                     on_phase=on_phase, on_build_line=on_line)
    if mine is not None:
        cells = {column: entry["cells"] for column, entry in document["servers"].items()}
        document["your_predictions"] = predictions.score(
            mine, cells, edgecases.judge_learner,
            row_keys={c.key: str(c.number) for c in edgecases.CASES})
    store.save_result("lab", document)
    if json_out:
        ui.print_json_document(document)
        return
    lab_render.edge_cases(document)
