"""`labctl lab`: the lessons' labs as commands. `labctl lab bottleneck` is lesson 003's."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.options import (
    CpusOption,
    JsonOption,
    MemoryOption,
    RuntimeOption,
    ServersArgument,
)
from labctl.errors import UsageProblem

lab_app = typer.Typer(help="Run a lesson's lab: its try-it list as one command.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")


@lab_app.command("bottleneck")
def bottleneck_command(
    names: ServersArgument = None,
    connections: Annotated[int, typer.Option(
        "--connections", "-c", min=1, max=1000,
        help="Open connections of the load generator.")] = 10,
    duration: Annotated[str, typer.Option(
        "--duration", "-d", help="Each step's load, e.g. 5s.")] = "5s",
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
    from labctl import bottleneck, loadgen, render, servers, store
    from labctl.cpus import client_cpuset

    chosen = servers.select(names)
    try:
        duration_s = loadgen.parse_duration(duration)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
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
    ui.out().print(render.render_lab_bottleneck(document))
