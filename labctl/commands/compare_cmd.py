"""`labctl compare` and `labctl verify`: the servers side by side, and their checks alone."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from labctl import compare, export, render, servers, store, ui, verify
from labctl.commands.common import (
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    build_status,
    default_limits,
    prepare_runtime,
)
from labctl.errors import LabctlError
from labctl.runtime.lifecycle import running

SERVERS_HELP = "Servers to include (default: all four): go, python, rust, node or their aliases."


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
    app.command("verify")(verify_command)


def compare_command(
    names: list[str] = typer.Argument(None, help=SERVERS_HELP, show_default=False),
    samples: int = typer.Option(200, "--samples", "-n", min=10, max=100_000,
                                help="Timed requests per server, path and connection mode."),
    warmup: int = typer.Option(20, "--warmup", min=0,
                               help="Requests per series sent first and discarded."),
    cold_starts: int = typer.Option(5, "--cold-starts", min=1, max=50,
                                    help="Fresh starts per server; the median is reported."),
    load: bool = typer.Option(False, "--load", help="Also load-test each server (see labctl load)."),
    connections: int = typer.Option(100, "--connections", "-c", min=1,
                                    help="With --load: open connections."),
    duration: str = typer.Option("10s", "--duration", "-d", help="With --load: e.g. 10s, 1m."),
    cpus: float = CpusOption,
    memory: int = MemoryOption,
    json_out: bool = JsonOption,
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV on stdout instead of the table."),
    svg: Path = typer.Option(None, "--svg", help="Also save the comparison as an SVG picture."),
    html: Path = typer.Option(None, "--html", help="Also save the terminal's view as HTML."),
    report_file: Path = typer.Option(
        None, "--report", help="Also draw the run as a report page (see labctl report)."),
    runtime_name: str = RuntimeOption,
) -> None:
    """Build, verify and time the servers side by side under the same limits, then remove them."""
    chosen = servers.select(names)
    if json_out and csv_out:
        raise LabctlError("--json and --csv both ask for stdout", "Choose one", exit_code=2)
    runtime = prepare_runtime(runtime_name)
    options = compare.CompareOptions(samples=samples, warmup=warmup, cold_starts=cold_starts,
                                     limits=default_limits(cpus, memory))
    load_runner = None
    if load:
        from labctl import loadgen

        options.load = loadgen.LoadOptions(path="/health", connections=connections,
                                           duration_s=loadgen.parse_duration(duration))
        load_runner = loadgen.load_for_compare
    with build_status("building the servers") as (on_line, on_phase):
        document = compare.run_compare(runtime, chosen, options, on_line, on_phase, load_runner)
    store.save_result("compare", document)
    if report_file:
        from labctl.commands.report_cmd import write_report

        ui.info(f"report written to {write_report([document], report_file)}")
    view = render.render_compare(document)
    if svg:
        export.save_picture(view, svg, title="labctl compare")
    if html:
        export.save_picture(view, html, title="labctl compare")
    if json_out:
        ui.print_json_document(document)
    elif csv_out:
        ui.out().out(export.compare_csv(document), end="", highlight=False)
    else:
        ui.out().print(view)
    if svg or html:
        ui.info("saved " + " and ".join(str(p) for p in (svg, html) if p))


def verify_command(
    names: list[str] = typer.Argument(None, help=SERVERS_HELP, show_default=False),
    json_out: bool = JsonOption,
    runtime_name: str = RuntimeOption,
) -> None:
    """Check each server's answers (status, headers, body, 404, a live Date) without timing it."""
    chosen = servers.select(names)
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(1.0, 512)
    results = []
    with build_status("building") as (on_line, on_phase):
        for server in chosen:
            on_phase(f"building {server.title}")
            runtime.prepare(server, on_line)
            on_phase(f"checking {server.title}")
            with running(runtime, server, limits) as instance:
                verification = verify.verify_responses(server, instance.url)
                verify.verify_date_changes(verification, instance.url)
            results.append(verification.as_dict())
    if json_out:
        ui.print_json_document({"schema": "labctl.verify/1", "runtime": runtime.name,
                                "servers": results})
    else:
        for result in results:
            table = Table(title=f"{servers.get(result['server']).title}: {result['status']}",
                          title_justify="left", show_edge=False, pad_edge=False)
            table.add_column("result")
            table.add_column("check")
            table.add_column("detail")
            for check in result["checks"]:
                table.add_row(render.status_text(check["status"]), check["check"], check["reason"])
            ui.out().print(table)
            ui.out().print()
    failed = [r["server"] for r in results if r["status"] == verify.FAIL]
    if failed:
        raise LabctlError(f"{', '.join(failed)} failed verification",
                          "See the failed checks above")
