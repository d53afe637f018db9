"""Commands about single servers: list them, run one, read its logs, remove everything."""

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.options import (
    ClientContextOption,
    CpusOption,
    JsonOption,
    MemoryOption,
    OptionalServerArgument,
    RebuildOption,
    RuntimeOption,
    ServerArgument,
    SourceOption,
)
from labctl.errors import EnvironmentProblem, LabctlError

if TYPE_CHECKING:
    from labctl.results.documents import ServerRow, ServersDocument

# Domain modules are imported inside each command: `labctl --help` must not pay for them.


def register(app: typer.Typer) -> None:
    app.command("servers")(list_servers)
    app.command("run")(run)
    app.command("logs")(logs)
    app.command("down")(down)


def list_servers(
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
) -> None:
    """List the four servers: framework, pinned versions, base image, and whether it is built."""
    from labctl import config, servers
    from labctl.results import render
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
    rows: list[ServerRow] = []
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
    document: ServersDocument = {"schema": "labctl.servers/1", "servers": rows,
                "engine": engine_note or "reachable"}
    if json_out:
        ui.print_json_document(document)
        return
    ui.out().print(render.render_servers(document))
    if engine_note:
        ui.info(f"Docker: {engine_note}")


def run(
    server: OptionalServerArgument = None,
    samples: Annotated[int, typer.Option("--samples", "-n", min=1, max=100_000,
                                         help="Timed requests per path and connection mode.")] = 50,
    warmup: Annotated[int, typer.Option("--warmup", min=0,
                                        help="Requests per series sent first and discarded.")] = 5,
    keep: Annotated[bool, typer.Option("--keep",
                                       help="Leave the server running and print its URL.")] = False,
    rebuild: RebuildOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    runtime_name: RuntimeOption = None,
    source: SourceOption = None,
    client_context: ClientContextOption = None,
) -> None:
    """Build, start, check and time one server on / and /health, then remove it."""
    from rich.text import Text

    from labctl import runner, servers
    from labctl.results import render

    chosen = servers.choose_one(server, source)
    runtime = prepare_runtime(runtime_name, client_context)
    limits = default_limits(cpus, memory)   # the engine's cores (after prepare_runtime)
    options = runner.RunOptions(samples=samples, warmup=warmup, keep=keep, rebuild=rebuild,
                                limits=limits)
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
    server: ServerArgument,
    tail: Annotated[int, typer.Option("--tail", min=1, help="How many of the last lines.")] = 100,
    runtime_name: RuntimeOption = None,
) -> None:
    """Print the logs of a server left running with `labctl run --keep`."""
    from labctl import servers

    chosen = servers.get(server)
    runtime = prepare_runtime(runtime_name)
    text = runtime.logs_of_kept(chosen, tail)
    ui.out().print(text or "(no log lines)", markup=False, highlight=False)


def down(
    runtime_name: RuntimeOption = None,
    session: Annotated[Optional[str], typer.Option(
        "--session", metavar="ID",
        help="Only what one labctl run started: the ID in its container names "
             "(labctl-<server>-ID), e.g. to stop one kept server and leave the others.")] = None,
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
