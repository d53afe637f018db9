"""`labctl compare` and `labctl verify`: the servers side by side, and their checks alone."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.options import (
    ClientContextOption,
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    ServersArgument,
    SourcesOption,
)
from labctl.errors import LabctlError, UsageProblem


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
    app.command("verify")(verify_command)


def compare_command(
    names: ServersArgument = None,
    samples: Annotated[int, typer.Option(
        "--samples", "-n", min=10, max=100_000,
        help="Timed requests per server, path and connection mode.")] = 200,
    warmup: Annotated[int, typer.Option(
        "--warmup", min=0, help="Requests per series sent first and discarded.")] = 20,
    cold_starts: Annotated[int, typer.Option(
        "--cold-starts", min=1, max=50,
        help="Fresh starts per server; the median is reported.")] = 5,
    load: Annotated[bool, typer.Option(
        "--load", help="Also load-test each server (see labctl load).")] = False,
    connections: Annotated[int, typer.Option(
        "--connections", "-c", min=1, help="With --load: open connections.")] = 100,
    duration: Annotated[str, typer.Option(
        "--duration", "-d", help="With --load: e.g. 10s, 1m.")] = "10s",
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    csv_out: Annotated[bool, typer.Option(
        "--csv", help="Print CSV on stdout instead of the table.")] = False,
    svg: Annotated[Optional[Path], typer.Option(
        "--svg", help="Also save the comparison as an SVG picture.")] = None,
    html: Annotated[Optional[Path], typer.Option(
        "--html", help="Also save the terminal's view as an HTML page.")] = None,
    report_file: Annotated[Optional[Path], typer.Option(
        "--report", help="Also draw the run as a report page (see labctl report).")] = None,
    runtime_name: RuntimeOption = None,
    sources: SourcesOption = None,
    client_context: ClientContextOption = None,
) -> None:
    """Build, verify and time the servers side by side under the same limits, then remove them."""
    from labctl import compare, servers
    from labctl.durations import duration_option
    from labctl.results import export, render, store

    chosen = servers.select(names, sources)
    if json_out and csv_out:
        raise UsageProblem("--json and --csv both ask for stdout", "Choose one")
    duration_s = duration_option(duration, "--duration")   # checked before anything is built
    runtime = prepare_runtime(runtime_name, client_context)
    limits = default_limits(cpus, memory)   # the engine's cores (after prepare_runtime)
    options = compare.CompareOptions(samples=samples, warmup=warmup, cold_starts=cold_starts,
                                     limits=limits)
    load_runner = None
    if load:
        from labctl.measure import loadgen

        options.load = loadgen.LoadOptions(path="/health", connections=connections,
                                           duration_s=duration_s)
        load_runner = loadgen.load_for_compare
    with build_status("building the servers") as (on_line, on_phase):
        # On stderr, above the progress line, whatever stdout carries (--json, --csv): they are
        # a preview, not the result.
        document = compare.run_compare(
            runtime, chosen, options, on_line, on_phase, load_runner,
            on_first_look=lambda look: ui.err().print(render.first_look_lines(look)))
    with store.saved("compare", document):
        if report_file:
            from labctl.commands.report_cmd import write_report

            ui.info(f"report written to {write_report([dict(document)], report_file)}")
        view = render.render_compare(document)
        if svg:
            export.save_picture(view, svg, title="labctl compare")
        if html:
            export.save_picture(view, html, title="labctl compare")
        if json_out:
            ui.print_json_document(document)
        elif csv_out:
            ui.out().out(export.compare_csv(dict(document)), end="", highlight=False)
        else:
            ui.out().print(view)
        if svg or html:
            ui.info("saved " + " and ".join(str(p) for p in (svg, html) if p))


def verify_command(
    names: ServersArgument = None,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
    sources: SourcesOption = None,
    client_context: ClientContextOption = None,
) -> None:
    """Check each server's answers (status, headers, body, 404, a live Date) without timing it."""
    from labctl import servers, verification
    from labctl.measure import verify
    from labctl.results import render

    chosen = servers.select(names, sources)
    runtime = prepare_runtime(runtime_name, client_context)
    with build_status("building") as (on_line, on_phase):
        document = verification.verify_servers(runtime, chosen, default_limits(1.0, 512), on_line,
                                         on_phase)
    if json_out:
        ui.print_json_document(document)
    else:
        ui.out().print(render.render_verify(document))
    results = document["servers"]
    failed = [r["server"] for r in results if r["status"] == verify.FAIL]
    if failed:
        raise LabctlError(f"{', '.join(failed)} failed verification",
                          "See the failed checks above")
