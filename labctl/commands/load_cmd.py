"""`labctl load`: put one server under load with a real load generator and report what it saw.

Exit status: 0 when the load ran, even when the run is flagged (socket errors, error
responses, the built-in client as the bottleneck, an open loop short of its rate): the figures
are printed with FLAGGED and the reasons. 1 when every request failed (no successful answer at
all: nothing about the server was measured). 2 for bad options or a missing environment.
"""

from typing import Annotated, Optional

import typer

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.options import (
    ClientContextOption,
    CpusOption,
    GeneratorChoice,
    GeneratorOption,
    JsonOption,
    MemoryOption,
    OptionalServerArgument,
    RebuildOption,
    RuntimeOption,
    SourceOption,
)
from labctl.errors import LabctlError, UsageProblem


def register(app: typer.Typer) -> None:
    app.command("load")(load)


def _duration(text: str, option: str, *, zero_ok: bool = False) -> float:
    from labctl.durations import duration_option

    return duration_option(text, option, zero_ok=zero_ok)


def load(
    server: OptionalServerArgument = None,
    path: Annotated[str, typer.Argument(help="The path to request, e.g. / or /health.")] = "/",
    connections: Annotated[int, typer.Option(
        "--connections", "-c", min=1, max=100_000, help="Connections kept open at once.")] = 100,
    duration: Annotated[str, typer.Option(
        "--duration", "-d", help="How long to send load: 10s, 500ms, 1m or seconds.")] = "10s",
    threads: Annotated[Optional[int], typer.Option(
        "--threads", "-t", min=1, show_default="one per client CPU",
        help="wrk threads.")] = None,
    rate: Annotated[Optional[float], typer.Option(
        "--rate", min=0.001, show_default="closed loop",
        help="Send this many requests per second in total (open loop, on oha, latency "
             "counted from when each request was due); without it: as fast as the server "
             "answers (closed loop, on wrk).")] = None,
    no_keepalive: Annotated[bool, typer.Option(
        "--no-keepalive", help="A new connection for every request (Connection: close).")] = False,
    generator: GeneratorOption = GeneratorChoice.auto,
    warmup: Annotated[str, typer.Option(
        "--warmup",
        help="Load sent first, with the same options, and discarded (0 for none).")] = "2s",
    rebuild: RebuildOption = False,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
    csv_out: Annotated[bool, typer.Option(
        "--csv", help="Print one CSV header and row on stdout.")] = False,
    runtime_name: RuntimeOption = None,
    source: SourceOption = None,
    client_context: ClientContextOption = None,
) -> None:
    """Put one server under load (wrk; oha with --rate) and report req/s, latency and errors."""
    from labctl import loadtest, servers
    from labctl.durations import format_duration
    from labctl.measure import loadgen
    from labctl.results import export, render, store

    if source and server and server.startswith("/") and path == "/":
        # `labctl load --source DIR /health`: with the server given by --source, the one
        # argument is the path.
        chosen = servers.choose_one(None, source)
        path = server
    else:
        chosen = servers.choose_one(server, source)
    if json_out and csv_out:
        raise UsageProblem("--json and --csv cannot be used together")
    options = loadgen.LoadOptions(
        path=path, connections=connections, duration_s=_duration(duration, "--duration"),
        threads=threads, rate=rate, keepalive=not no_keepalive, generator=generator.value)
    options.validate()
    warmup_s = _duration(warmup, "--warmup", zero_ok=True)
    runtime = prepare_runtime(runtime_name, client_context)
    limits = default_limits(cpus, memory)   # the engine's cores (after prepare_runtime)
    with build_status(f"building {chosen.title}") as (on_line, on_phase):
        prepared = loadtest.prepare(runtime, chosen, options, rebuild=rebuild,
                                    on_build_line=on_line, on_phase=on_phase)
    for note in prepared.generator.notes:
        ui.warn(note)
    if isinstance(prepared.generator, loadgen.BuiltinClient) and options.rate is None:
        ui.warn(loadgen.BUILTIN_WARNING.upper())

    def loading(_instance):
        what = (f"{options.describe_loop()}, {options.connections} connections, "
                f"{format_duration(options.duration_s)}")
        if warmup_s:
            ui.info(f"warming up for {format_duration(warmup_s)} (discarded), then "
                    f"loading {chosen.title}: {what}")
        else:
            ui.info(f"loading {chosen.title}: {what}")
        # Live progress (terminal only): the run lasts its warm-up plus its duration.
        return ui.timed_progress(f"loading {chosen.title} on GET {options.path}",
                                 warmup_s + options.duration_s)

    document = loadtest.run(runtime, chosen, prepared, options, limits, warmup_s=warmup_s,
                            on_load=loading)
    with store.saved("load", document):  # sets document["id"]
        if json_out:
            ui.print_json_document(document)
        elif csv_out:
            ui.out().out(export.load_csv(document), end="", highlight=False)
        else:
            ui.out().print(render.render_load(document))
    load = document["load"]
    if load["all_failed"]:
        raise LabctlError(f"every request to the {chosen.title} server failed "
                          f"({load['requests']} answers, {load['non_2xx']} of them errors, "
                          f"{load['socket_errors']} socket errors)",
                          f"Check it with: labctl run {chosen.name}")
