"""Commands about single servers: list them, run one, read its logs, remove everything."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from labctl import render, runner, servers, ui
from labctl.commands.common import (
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    build_status,
    default_limits,
    prepare_runtime,
)
from labctl.errors import EnvironmentProblem, LabctlError

SERVER_HELP = "go | python | rust | node (also nethttp, fastapi, axum, express)"


def register(app: typer.Typer) -> None:
    app.command("servers")(list_servers)
    app.command("run")(run)
    app.command("logs")(logs)
    app.command("down")(down)


def list_servers(
    json_out: bool = JsonOption,
    runtime_name: str = RuntimeOption,
) -> None:
    """List the four servers: framework, pinned versions, base image, and whether it is built."""
    from labctl import config
    from labctl.runtime.docker import DockerRuntime

    docker = DockerRuntime()
    engine_note = None
    try:
        if runtime_name in (None, "auto", "docker"):
            docker.check()
        else:
            engine_note = "not asked (--runtime local)"
    except EnvironmentProblem as problem:
        engine_note = problem.message
    rows = []
    for server in servers.SERVERS:
        image = None if engine_note else docker.image_info(server)
        rows.append({
            "name": server.name,
            "aliases": list(server.aliases),
            "language": server.language,
            "framework": server.framework,
            "framework_version": server.framework_version(),
            "source": str(server.source_dir / server.source_file),
            "base_image": config.base_image(server.base_image_arg, server.default_base_image),
            "image": image,
            "concurrency": server.concurrency_model,
        })
    if json_out:
        ui.print_json_document({"schema": "labctl.servers/1", "servers": rows,
                                "engine": engine_note or "reachable"})
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("server", "framework", "version", "base image", "image"):
        table.add_column(column)
    for row in rows:
        image = row["image"]
        if engine_note:
            image_text = Text("? (no engine)", style="muted")
        elif image is None:
            image_text = Text("not built", style="warn")
        else:
            state = "built" if image["up_to_date"] else "built, source changed"
            image_text = Text(f"{state}, {render.fmt_bytes(image['size_bytes'])}",
                              style="ok" if image["up_to_date"] else "warn")
        table.add_row(f"{row['name']} ({', '.join(row['aliases'][:2])})",
                      f"{row['language']} {row['framework']}", row["framework_version"],
                      row["base_image"], image_text)
    ui.out().print(table)
    if engine_note:
        ui.info(f"Docker: {engine_note}")


def run(
    server: str = typer.Argument(..., help=SERVER_HELP, show_default=False),
    samples: int = typer.Option(50, "--samples", "-n", min=1, max=100_000,
                                help="Timed requests per path and connection mode."),
    warmup: int = typer.Option(5, "--warmup", min=0,
                               help="Requests per series sent first and discarded."),
    keep: bool = typer.Option(False, "--keep", help="Leave the server running and print its URL."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build even if an up-to-date build exists."),
    cpus: float = CpusOption,
    memory: int = MemoryOption,
    json_out: bool = JsonOption,
    runtime_name: str = RuntimeOption,
) -> None:
    """Build, start, check and time one server on / and /health, then remove it."""
    chosen = servers.get(server)
    runtime = prepare_runtime(runtime_name)
    options = runner.RunOptions(samples=samples, warmup=warmup, keep=keep, rebuild=rebuild,
                                limits=default_limits(cpus, memory))
    with build_status(f"building {chosen.title}") as (on_line, on_phase):
        document = runner.run_server(runtime, chosen, options, on_line, on_phase)
    failed = document["verification"]["status"] == "fail"
    if json_out:
        ui.print_json_document(document)
    else:
        ui.out().print(render.render_run(document))
        if keep:
            ui.out().print(Text.assemble(("\nStill running at ", ""), (document["url"], "cmd"),
                                         ("  —  stop it with: labctl down", "")))
    if failed:
        raise LabctlError(f"the {chosen.title} server failed its checks",
                          "See the failed checks above")


def logs(
    server: str = typer.Argument(..., help=SERVER_HELP, show_default=False),
    tail: int = typer.Option(100, "--tail", min=1, help="How many of the last lines."),
    runtime_name: str = RuntimeOption,
) -> None:
    """Print the logs of a server left running with `labctl run --keep`."""
    chosen = servers.get(server)
    runtime = prepare_runtime(runtime_name)
    text = runtime.logs_of_kept(chosen, tail)
    ui.out().print(text or "(no log lines)", markup=False, highlight=False)


def down(
    runtime_name: str = RuntimeOption,
    session: Optional[str] = typer.Option(
        None, "--session", metavar="ID",
        help="Only what one labctl run started: the ID in its container names "
             "(labctl-<server>-ID), e.g. to stop one kept server and leave the others."),
) -> None:
    """Stop and remove every server labctl started on this machine, kept ones included."""
    from labctl import runtime as runtimes

    removed: list[str] = []
    for name in (["docker", "local"] if runtime_name in (None, "auto") else [runtime_name]):
        try:
            removed += runtimes.select(name).down(session)
        except EnvironmentProblem:
            if runtime_name == name:
                raise
    if removed:
        ui.out().print(f"removed {len(removed)}: " + ", ".join(removed))
    else:
        ui.out().print("nothing to remove: no server started by labctl is running")
