"""`labctl load`: put one server under load with a real load generator and report what it saw.

Exit status: 0 when the load ran, even when the run is flagged (socket errors, error
responses, the built-in client as the bottleneck, an open loop short of its rate): the figures
are printed with FLAGGED and the reasons. 1 when every request failed (no successful answer at
all: nothing about the server was measured). 2 for bad options or a missing environment.
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Optional

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from labctl import ui
from labctl.commands.common import build_status, default_limits, prepare_runtime
from labctl.commands.options import (
    CpusOption,
    GeneratorChoice,
    GeneratorOption,
    JsonOption,
    MemoryOption,
    RebuildOption,
    RuntimeOption,
    ServerArgument,
)
from labctl.errors import LabctlError, UsageProblem

LOAD_SCHEMA = "labctl.load/1"
CSV_COLUMNS = ("server", "runtime", "path", "generator", "generator_where", "loop", "rate",
               "keepalive", "connections", "threads", "duration_s", "server_cpus", "client_cpus",
               "requests", "requests_per_s", "p50_us", "p90_us", "p99_us", "max_us",
               "errors_connect", "errors_read", "errors_write", "errors_timeout", "non_2xx",
               "flagged", "reasons")


def register(app: typer.Typer) -> None:
    app.command("load")(load)


def _duration(text: str, option: str, *, zero_ok: bool = False) -> float:
    from labctl.durations import parse_duration

    if zero_ok and text.strip().lower() in ("0", "0s", "0ms", "none", "off"):
        return 0.0
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def load(
    server: ServerArgument,
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
        help="Send this many requests per second in total (open loop, on the built-in "
             "client); without it: as fast as the server answers (closed loop).")] = None,
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
) -> None:
    """Put one server under load (wrk by default) and report req/s, latency and errors."""
    from labctl import hostinfo, loadgen, servers
    from labctl.cpus import client_cpuset
    from labctl.runner import document_head
    from labctl.runtime.lifecycle import running

    chosen = servers.get(server)
    if json_out and csv_out:
        raise UsageProblem("--json and --csv cannot be used together")
    options = loadgen.LoadOptions(
        path=path, connections=connections, duration_s=_duration(duration, "--duration"),
        threads=threads, rate=rate, keepalive=not no_keepalive, generator=generator.value)
    options.validate()
    warmup_s = _duration(warmup, "--warmup", zero_ok=True)
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)
    with build_status(f"building {chosen.title}") as (on_line, on_phase):
        on_phase(f"preparing {chosen.title}")
        build = runtime.prepare(chosen, on_line, rebuild=rebuild)
        on_phase("preparing the load generator")
        gen = loadgen.prepare_generator(runtime, options, on_line)
    for note in gen.notes:
        ui.warn(note)
    if isinstance(gen, loadgen.BuiltinClient) and options.rate is None:
        ui.warn(loadgen.BUILTIN_WARNING.upper())
    with running(runtime, chosen, limits) as instance:
        client_cpus = client_cpuset(instance.limits)
        what = (f"{options.describe_loop()}, {options.connections} connections, "
                f"{loadgen.format_duration(options.duration_s)}")
        if warmup_s:
            ui.info(f"warming up for {loadgen.format_duration(warmup_s)} (discarded), then "
                    f"loading {chosen.title}: {what}")
        else:
            ui.info(f"loading {chosen.title}: {what}")
        with ui.err().status(f"loading {chosen.title} on GET {options.path}"):
            result = loadgen.run_load(runtime, instance, options, client_cpus, generator=gen,
                                      warmup_s=warmup_s)
        document = {
            **document_head(LOAD_SCHEMA, runtime, build, instance),
            "cpus": {"server": instance.limits.cpuset, "client": client_cpus,
                     "separated": client_cpus is not None},
            "load": result.as_dict(),
            "generator_image": getattr(gen, "image_details", None) or None,
            "flagged": result.flagged,
            "host": hostinfo.host_facts(),
        }
    if "stop_seconds" in instance.extra:
        document["stop_seconds"] = instance.extra["stop_seconds"]
    _save(document)
    if json_out:
        ui.print_json_document(document)
    elif csv_out:
        write_csv(document)
    else:
        ui.out().print(render_load(document))
    if result.all_failed:
        raise LabctlError(f"every request to the {chosen.title} server failed "
                          f"({result.requests} answers, {result.non_2xx} of them errors, "
                          f"{result.socket_errors} socket errors)",
                          f"Check it with: labctl run {chosen.name}")


def _save(document: dict) -> None:
    """Keep the result with the others (`labctl results`); sets ``document["id"]``."""
    from labctl import store

    document["id"] = store.save_result("load", document)


# -- output ---------------------------------------------------------------------------------


def csv_row(document: dict) -> dict:
    load = document["load"]
    latency = load["latency_us"]
    return {
        "server": document["server"]["name"], "runtime": document["runtime"].get("runtime"),
        "path": load["path"], "generator": load["generator"]["name"],
        "generator_where": load["generator"]["where"], "loop": load["loop"],
        "rate": "" if load["rate"] is None else load["rate"],
        "keepalive": "on" if load["keepalive"] else "off",
        "connections": load["connections"], "threads": load["threads"],
        "duration_s": load["measured_duration_s"],
        "server_cpus": document["cpus"]["server"] or "", "client_cpus": document["cpus"]["client"] or "",
        "requests": load["requests"], "requests_per_s": load["requests_per_s"],
        "p50_us": _blank(latency.get("p50")), "p90_us": _blank(latency.get("p90")),
        "p99_us": _blank(latency.get("p99")), "max_us": _blank(latency.get("max")),
        **{f"errors_{kind}": load["errors"][kind] for kind in ("connect", "read", "write",
                                                              "timeout")},
        "non_2xx": load["non_2xx"], "flagged": "yes" if load["flagged"] else "no",
        "reasons": "; ".join(load["reasons"]),
    }


def _blank(value):
    return "" if value is None else value


def write_csv(document: dict) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(csv_row(document))
    sys.stdout.flush()


def render_load(document: dict) -> Group:
    """Every figure labelled: what was sent, from where, to what, and what came back."""
    from labctl import loadgen
    from labctl.render import fmt_us

    load = document["load"]
    server = document["server"]
    latency = load["latency_us"]
    gen = load["generator"]
    limits = document["limits"]

    table = Table.grid(padding=(0, 2))
    table.add_column(style="label", no_wrap=True)
    table.add_column()

    class _Rows:   # every value as plain Text: "[epoll]" in wrk's version is not Rich markup
        @staticmethod
        def add_row(label: str, value) -> None:
            table.add_row(label, value if isinstance(value, Text) else Text(str(value)))

    grid = _Rows()
    warm = (f", after a {loadgen.format_duration(load['warmup_s'])} warm-up (discarded)"
            if load["warmup_s"] else ", no warm-up")
    grid.add_row("load", f"GET {load['path']}, {load['loop_description']}, keep-alive "
                         f"{'on' if load['keepalive'] else 'off (a new connection per request)'}")
    grid.add_row("", f"{load['connections']} connections, {load['threads']} thread"
                     f"{'s' if load['threads'] != 1 else ''}, "
                     f"{loadgen.format_duration(load['duration_s'])}{warm}")
    grid.add_row("server", f"{server['language']} {server['framework']} "
                           f"({document['runtime'].get('runtime')}), {_server_cpus(limits)}")
    grid.add_row("", f"reached at {document['path']['description']}")
    version = f" {gen['version']}" if gen["version"] else ""
    grid.add_row("client", f"{gen['name']}{version}: {gen['description']}")
    if document["cpus"]["separated"]:
        from labctl.cpus import describe_cpus

        grid.add_row("CPUs", f"server on CPU {document['cpus']['server']}, load generator on "
                             f"{describe_cpus(document['cpus']['client'])}: kept apart")
    else:
        grid.add_row("CPUs", Text("client and server share CPUs (they cannot be kept apart "
                                  "here)", style="warn"))
    grid.add_row("requests/s", Text(f"{load['requests_per_s']:,.0f}", style="figure"))
    grid.add_row("requests", f"{load['requests']:,} in {load['measured_duration_s']:.2f} s")
    if load["open_loop"]:
        loop = load["open_loop"]
        grid.add_row("rate", f"{loop['achieved_rate']:,.0f} req/s achieved of "
                             f"{loop['target_rate']:g} asked; {loop['not_sent']:,} not sent")
    grid.add_row("latency", Text.assemble(
        "p50 ", (fmt_us(latency.get("p50")), "figure"), "   p90 ", fmt_us(latency.get("p90")),
        "   p99 ", fmt_us(latency.get("p99")), "   max ", fmt_us(latency.get("max"))))
    grid.add_row("", Text(load["percentiles"], style="muted"))
    errors = load["errors"]
    grid.add_row("socket errors", Text(
        f"{load['socket_errors']:,} (connect {errors['connect']}, read {errors['read']}, "
        f"write {errors['write']}, timeout {errors['timeout']})",
        style="fail" if load["socket_errors"] else ""))
    grid.add_row("non-2xx", Text(f"{load['non_2xx']:,}", style="fail" if load["non_2xx"] else ""))
    parts: list = [Text(f"Load on {server['language']} {server['framework']}", style="label"),
                   table]
    if load["flagged"]:
        parts.append(Text("FLAGGED: " + "; ".join(load["reasons"]), style="fail"))
    else:
        parts.append(Text("no socket errors, every response 2xx", style="ok"))
    for note in load["notes"]:
        if note not in load["reasons"]:
            parts.append(Text(f"note: {note}", style="muted"))
    if gen.get("by_hand"):
        parts.append(Text.assemble(("the same load by hand: ", ""),
                                   (" ".join(_quote(a) for a in gen["by_hand"]), "cmd")))
    return Group(*parts)


def _server_cpus(limits: dict) -> str:
    from labctl.cpus import cores

    where = f" on CPU {limits['cpuset']}" if limits.get("cpuset") is not None else ""
    memory = f", {limits['memory_mb']} MB" if limits.get("memory_mb") else ""
    return f"{cores(limits['cpus'])}{where}{memory}"


def _quote(arg: str) -> str:
    return f"'{arg}'" if " " in arg else arg
