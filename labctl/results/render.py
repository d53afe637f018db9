"""Rich rendering of result documents. Takes the JSON-ready dicts the commands produce, so what
a person sees and what ``--json`` prints can never disagree."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from labctl.measure.modes import FRESH, KEEPALIVE, MODE_SHORT
from labctl.results import (
    lab_render,
    learning_render,
    overload_render,
    proxy_render,
)
from labctl.results.layout import Column, Fit, Numbered, legend, saved
from labctl.runtime.cpus import cores

if TYPE_CHECKING:   # the first look's module runs servers; rendering one needs only its fields
    from labctl.measure.first_look import FirstLook

STATUS_STYLE = {"pass": "ok", "warn": "warn", "fail": "fail"}


def fmt_us(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1000:
        return f"{value:.0f} µs"
    if value < 1_000_000:
        return f"{value / 1000:.2f} ms"
    return f"{value / 1e6:.2f} s"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{value} B"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def first_look_lines(look: FirstLook) -> Group:
    """One server's first look on a first compare: what it is, and that it is not the
    comparison (another build was under way while it was taken)."""
    checks = {"pass": "checks passed", "warn": "checks passed with warnings",
              "fail": "checks FAILED"}.get(look.status, look.status)
    body = Text()
    body.append(checks, style=STATUS_STYLE.get(look.status, ""))
    body.append(f", up in {fmt_ms(look.cold_start_ms)}")
    if look.keepalive_p50_us is not None or look.fresh_p50_us is not None:
        body.append(f", GET {look.path} median {fmt_us(look.keepalive_p50_us)} kept alive and "
                    f"{fmt_us(look.fresh_p50_us)} on a new connection ({look.samples} requests "
                    f"each, server on {_server_cpus(look.limits)}; the comparison measures it "
                    "again)")
    return Group(Text(f"first look at {look.server}, while {look.while_building} builds:",
                      style="bold"),
                 Padding(body, (0, 0, 0, 2)))


def latency_table(path: str, by_mode: dict, *, samples: int, warmup: int,
                  one_shot: dict | None = None) -> Table:
    """Figures in whole microseconds, so the columns line up and compare at a glance.
    ``one_shot``: the series of one curl process per request on this path, its own row."""
    table = Table(title=f"GET {path} — µs, {samples} samples each after {warmup} discarded",
                  title_justify="left", show_edge=False, pad_edge=False)
    # The curl row's label wraps onto two lines ("curl, one process" / "per request"), never
    # three; a figure never wraps.
    table.add_column("connection", min_width=len("curl, one process"))
    for column in ("min", "p50", "p90", "p99", "max", "connect", "1st byte"):
        table.add_column(column, justify="right", no_wrap=True)
    errors = []
    for mode in (FRESH, KEEPALIVE):
        series = by_mode.get(mode)
        if not series:
            continue
        summary = series["summary"] or {}
        phases = series["phases_p50"] or {}
        failed = series["errors"] + series["non_2xx"]
        if failed:
            errors.append(f"{MODE_SHORT[mode]}: {failed} of {series['samples'] + series['errors']} "
                          "requests failed or were not 2xx")
        table.add_row(
            MODE_SHORT[mode],
            us(summary.get("min")), Text(us(summary.get("p50")), style="figure"),
            us(summary.get("p90")), us(summary.get("p99")), us(summary.get("max")),
            # A kept-alive connection has no connect phase: libcurl reports 0.
            us(phases.get("connect_us")) if mode == FRESH else "–",
            us(phases.get("ttfb_us")),
        )
    if one_shot and one_shot.get("summary"):
        summary, phases = one_shot["summary"], one_shot["phases_p50"] or {}
        failed = one_shot["errors"] + one_shot["non_2xx"]
        if failed:
            errors.append(f"curl: {failed} of {one_shot['samples'] + one_shot['errors']} "
                          "requests failed or were not 2xx")
        table.add_row(
            ONE_SHOT_LABEL, us(summary.get("min")), Text(us(summary.get("p50")), style="figure"),
            us(summary.get("p90")), us(summary.get("p99")), us(summary.get("max")),
            us(phases.get("connect_us")), us(phases.get("ttfb_us")))
    if errors:
        table.caption = Text("; ".join(errors), style="fail")
    return table


ONE_SHOT_LABEL = "curl, one process per request"


def one_shot_lines(part: dict | None) -> list[Text]:
    """What the curl row is, the gap it shows explained, or why there is no such row."""
    if not part:
        return []    # a result saved before labctl measured it
    if not part["measured"]:
        return [Text(f"No \"{ONE_SHOT_LABEL}\" row: {part['why_not']}.", style="warn")]
    lines = [Text(
        f"{ONE_SHOT_LABEL}: {part['samples']} runs of the {part['curl'] or 'curl'} program after "
        f"{part['warmup_discarded']} discarded, each a new process timing itself with -w, on the "
        f"probe's CPUs ({part['where']}).", style="muted")]
    lines += [Text(sentence) for sentence in part.get("reading") or []]
    return lines


def us(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def latency_legend(samples: int) -> list[Text]:
    lines = [Text(
        "time_total as curl -w reports it, timed by libcurl in-process. new conn.: a new TCP "
        "connection per request, as one curl call makes; keep-alive: one connection reused. "
        "connect and 1st byte are p50 times from the start of the request.", style="muted")]
    if samples < 100:
        lines.append(Text(f"With {samples} samples, p99 is the slowest sample.", style="muted"))
    return lines


def _start_and_memory_legend(params: dict) -> str:
    """What the cold start and idle memory rows are; when memory was read only if the result
    says (results saved before it was recorded took the engine's next stats sample)."""
    starts = params.get("cold_starts")
    text = ("cold start: from the start request to the first 200 on /health"
            + (f", median of {starts} starts" if starts else ""))
    settle = params.get("idle_memory_after_s")
    memory = f"read {settle:g} s after that first 200, " if settle is not None else ""
    return f"{text}; idle memory: {memory}page cache excluded."


def verification_lines(verification: dict, *, only_problems: bool = False) -> list[Text]:
    lines = []
    for check in verification["checks"]:
        if only_problems and check["status"] == "pass":
            continue
        line = Text("  ")
        line.append(f"{check['status']:<4}", style=STATUS_STYLE[check["status"]])
        line.append(f"  {check['check']}: {check['reason']}")
        lines.append(line)
    return lines


def between_engines_lines(document: Mapping[str, Any]) -> list[Text]:
    """The sentence every result measured from another engine carries (--client-context)."""
    between = document.get("between_engines")
    if not between:
        return []
    return [Text("Between engines: " + between["note"], style="warn")]


def runtime_version_lines(document: Mapping[str, Any]) -> list[Text]:
    """The runtime each server ran on, as it reported itself, and where it differs from the
    servers' pins (a base-image stand-in, a local toolchain): one line in a result's header."""
    from labctl.runtime import versions

    ran = (document.get("runtime") or {}).get("servers_ran") or {}
    line = versions.header_line(ran)
    if not line:
        return []
    differs = any(entry.get("matches_pin") is False for entry in ran.values())
    return [Text(line, style="warn" if differs else "muted")]


def render_run(document: Mapping[str, Any]) -> Group:
    server = document["server"]
    runtime = document["runtime"]
    limits = document["limits"]
    build = document["build"]
    parts: list = []
    header = Text()
    header.append(f"{server['language']} {server['framework']}", style="label")
    header.append(f" ({server['framework_version']})  ·  runtime {runtime['runtime']}  ·  "
                  f"measured over {document['path']['description']}")
    parts.append(header)
    parts.extend(runtime_version_lines(document))
    cpuset = f" (CPU {limits['cpuset']})" if limits.get("cpuset") is not None else ""
    memory = f", {limits['memory_mb']} MB" if limits.get("memory_mb") else ", no memory limit"
    probe_cpus = document["probe"].get("cpus")
    probe = f"  ·  probe on CPU {probe_cpus}" if probe_cpus else "  ·  probe shares the CPUs"
    if document["probe"].get("engine") and not document.get("between_engines"):
        probe += f" ({document['probe']['where']})"   # (between engines: its own line below)
    parts.append(Text(
        f"server limited to {cores(limits['cpus'])}{cpuset}"
        f"{memory}{probe}  ·  {server['processes']} process: {server['concurrency']}"))
    parts.extend(between_engines_lines(document))
    built = (f"built in {build['seconds']:.1f} s" if build["built"] else "up to date, not rebuilt")
    parts.append(Text(
        f"{build['artifact']}: {fmt_bytes(build.get('size_bytes'))}, {built}  ·  "
        f"cold start (start → first 200 on /health): {document['cold_start_ms']:.0f} ms"
        + (f" ({document['cold_start_note']})" if document.get("cold_start_note") else "")))
    verification = document["verification"]
    line = Text("checks: ")
    line.append_text(status_text(verification["status"]))
    passed = sum(1 for c in verification["checks"] if c["status"] == "pass")
    line.append(f" ({passed}/{len(verification['checks'])} passed)")
    parts.append(line)
    parts.extend(verification_lines(verification, only_problems=True))
    probe = document["probe"]
    one_shot = document.get("one_shot_curl")
    for path, by_mode in document["endpoints"].items():
        parts.append(Text(""))
        parts.append(latency_table(path, by_mode, samples=probe["samples"],
                                   warmup=probe["warmup_discarded"],
                                   one_shot=((one_shot or {}).get("endpoints") or {}).get(path)))
    parts.append(Text(""))
    parts.extend(latency_legend(probe["samples"]))
    parts.extend(one_shot_lines(one_shot))
    parts.append(Text(""))
    parts.append(Text(f"Reproduce one sample by hand (a new connection, {_by_hand_via(document)})"
                      + (f"; {one_shot['expect']}:" if one_shot else ":")))
    parts.append(Text("  " + document["curl"], style="cmd"))
    return Group(*parts)


def _by_hand_via(document: Mapping[str, Any]) -> str:
    """Where the reproduce-by-hand command's URL leads: the measured path when reachable from
    here, else the published port (through docker-proxy)."""
    kind = document["path"]["kind"]
    if kind == "loopback":
        return "on loopback"
    if kind == "bridge" and document.get("one_shot_curl"):
        return "over the container's bridge IP, as measured"
    if kind == "engine-bridge":
        return "through the published port, on the engine's machine"
    return "through the published port"


# -- compare --------------------------------------------------------------------------------

BAR_WIDTH = 36
PATH_KINDS = {"bridge": "each container's bridge IP", "published-port":
              "published ports (through docker-proxy)", "loopback": "loopback",
              "engine-bridge": "each container's bridge IP, from a probe container next to them",
              "between-engines": "ports published on the servers' host, from a probe on "
                                 "another engine"}


def _cell_p50(entry: dict, path: str, mode: str, ratios: dict,
              slow_path: Collection[str] = ()) -> Text:
    series = ((entry.get("latency") or {}).get(path) or {}).get(mode)
    if not series or not series.get("summary"):
        return Text("–")
    p50 = series["summary"]["p50"]
    info = ratios.get(f"{path} {mode}") or {}
    ratio = (info.get("p50_ratio") or {}).get(entry["name"])
    text = Text(fmt_us(p50), style="figure")
    if mode == FRESH and entry["name"] in slow_path:
        text.append(" slow path", style="warn")   # not ranked: see the reading below
    elif ratio is not None:
        text.append(" best" if ratio == 1.0 and info.get("fastest") == entry["name"]
                    else f" {ratio:.1f}×", style="ok" if ratio == 1.0 else "")
    return text


def _cell_p99(entry: dict, path: str, mode: str) -> str:
    series = ((entry.get("latency") or {}).get(path) or {}).get(mode)
    return fmt_us(series["summary"]["p99"]) if series and series.get("summary") else "–"


def _one_shot_cell(entry: dict, path: str) -> Text:
    series = (entry.get("one_shot_curl") or {}).get(path)
    if not series or not series.get("summary"):
        return Text("–")
    return Text(fmt_us(series["summary"]["p50"]), style="figure")


def _build_cell(build: dict) -> str:
    parts = []
    if "cached_seconds" in build:
        parts.append(f"{build['cached_seconds']:.1f} s cached")
    if "uncached_seconds" in build:
        parts.append(f"{build['uncached_seconds']:.0f} s built")
    if not parts:
        parts.append("reused" if not build.get("built") else f"{build['seconds']:.1f} s")
    return ", ".join(parts)


def render_compare(document: Mapping[str, Any]) -> Group:
    servers = document["servers"]
    names = list(servers)
    ratios = document["analysis"]["ratios"]
    slow_path = (document["analysis"].get("path_check") or {}).get("slow") or []
    params = document["parameters"]
    limits = document["limits"]
    runtime = document["runtime"]["runtime"]
    paths_used = sorted({PATH_KINDS.get(e["path"]["kind"], e["path"]["kind"])
                         for e in servers.values() if e.get("path")})
    parts: list = []
    cpuset = f" on CPU {limits['cpuset']}" if limits.get("cpuset") is not None else ""
    parts.append(Text.assemble(
        ("Comparison", "label"),
        f" — runtime {runtime}, measured over {', '.join(paths_used) or '?'}; each server limited "
        f"to {cores(limits['cpus'])}{cpuset}"
        + (f", {limits['memory_mb']} MB" if limits.get("memory_mb") else ", no memory limit")
        + (f"; probe on CPU {params['probe_cpus']}" if params.get("probe_cpus") else "")
        + (f", {params['probe_where']}" if "next to" in params.get("probe_where", "")
           or document.get("between_engines") else "")
        + f"; {params['samples']} samples per path and connection, servers taking turns in "
          f"blocks of {params.get('block', 1)}, {params['warmup_discarded']} warm-up requests "
          "discarded."))
    parts.extend(runtime_version_lines(document))
    parts.extend(between_engines_lines(document))
    # Servers as columns, in pairs: where four do not fit (80 columns), one table per pair.
    columns = [Column("", key=True), *(
        Column(f"{servers[name]['language']}\n{servers[name]['framework']}", "right",
               group=str(index // 2)) for index, name in enumerate(names))]
    rows: list[list] = []

    def row(label: str, cells) -> None:
        rows.append([label, *cells])

    row("checks", [status_text(servers[n]["verification"]["status"]) for n in names])
    for path in params["paths"][::-1]:    # /health first: the headline
        row(f"GET {path} new conn. p50", [_cell_p50(servers[n], path, FRESH, ratios, slow_path)
                                                for n in names])
        row("  p99", [_cell_p99(servers[n], path, FRESH) for n in names])
        row(f"GET {path} keep-alive p50",
            [_cell_p50(servers[n], path, KEEPALIVE, ratios) for n in names])
        row("  p99", [_cell_p99(servers[n], path, KEEPALIVE) for n in names])
        if path == "/health" and any(servers[n].get("one_shot_curl") for n in names):
            row(f"GET {path} {ONE_SHOT_LABEL} p50",
                [_one_shot_cell(servers[n], path) for n in names])
    row("cold start (median)", [("≤ " if "upper bound" in (servers[n]["cold_start_ms"].get("note")
                                                          or "") else "")
                                 + fmt_ms(servers[n]["cold_start_ms"]["median"]) for n in names])
    row("idle memory", [fmt_bytes(servers[n].get("idle_memory_bytes")) for n in names])
    row("image / build size", [fmt_bytes(servers[n]["build"].get("size_bytes")) for n in names])
    row("build time", [_build_cell(servers[n]["build"]) for n in names])
    row("processes", [str(servers[n]["processes"]) for n in names])
    if any(servers[n].get("load") for n in names):
        load = params.get("load") or {}
        row(f"load: req/s (closed loop, {load.get('connections', '?')} conn.)",
            [_load_cell(servers[n].get("load")) for n in names])
        row("load: p99", [fmt_us(((servers[n].get("load") or {}).get("latency_us") or {}).get("p99"))
                          for n in names])
    parts.append(Text(""))
    parts.append(Fit(columns, rows))
    notes = sorted({servers[n]["cold_start_ms"].get("note") for n in names} - {None})
    for note in notes:
        parts.append(Text(f"cold start {note}", style="dim"))
    parts.append(Text(""))
    parts.extend(latency_bars(document, "/health"))
    parts.append(Text(""))
    parts.append(Text("What this says", style="label"))
    for sentence in document["analysis"]["reading"]:
        parts.append(Text(f"• {sentence}"))
    parts.append(Text(""))
    parts.extend(latency_legend(params["samples"]))
    one_shot = params.get("one_shot_curl")
    if one_shot and one_shot.get("measured"):
        parts.append(Text(
            f"{ONE_SHOT_LABEL}: {one_shot['samples']} runs of the {one_shot['curl'] or 'curl'} "
            f"program per server after {one_shot['warmup_discarded']} discarded, each a new "
            "process timing itself with -w, on the probe's CPUs.", style="muted"))
    parts.append(Text(_start_and_memory_legend(params), style="muted"))
    for name in names:
        problems = verification_lines(servers[name]["verification"], only_problems=True)
        if problems:
            parts.append(Text(f"{servers[name]['language']} {servers[name]['framework']} checks:"))
            parts.extend(problems)
    if document.get("id"):
        parts.extend(saved(document["id"]))
    return Group(*parts)


def _load_cell(load: dict | None) -> Text:
    if not load:
        return Text("–")
    text = Text(f"{load.get('requests_per_s', 0):,.0f}", style="figure")
    if load.get("flagged"):
        text.append(" FLAGGED", style="fail")
    return text


def latency_bars(document: Mapping[str, Any], path: str) -> list[Text]:
    """A terminal bar chart of the median latency of ``path``, both connection modes."""
    servers = document["servers"]
    values = {}
    for name, entry in servers.items():
        for mode in (FRESH, KEEPALIVE):
            series = ((entry.get("latency") or {}).get(path) or {}).get(mode)
            if series and series.get("summary"):
                values[(name, mode)] = series["summary"]["p50"]
    if not values:
        return []
    longest = max(values.values())
    lines = [Text(f"GET {path}, median latency (shorter is faster)", style="label")]
    for name in servers:
        for mode in (FRESH, KEEPALIVE):
            if (name, mode) not in values:
                continue
            value = values[(name, mode)]
            filled = max(1, round(BAR_WIDTH * value / longest))
            line = Text(f"{name:<7}{MODE_SHORT[mode]:<11}")
            line.append("█" * filled, style="cmd" if mode == FRESH else "ok")
            line.append(f" {fmt_us(value)}")
            lines.append(line)
    return lines


# -- labctl load ----------------------------------------------------------------------------


def render_load(document: Mapping[str, Any]) -> Group:
    """Every figure labelled: what was sent, from where, to what, and what came back."""
    from labctl.durations import format_duration
    from labctl.runtime.cpus import describe_cpus

    load = document["load"]
    server = document["server"]
    latency = load["latency_us"]
    gen = load["generator"]
    limits = document["limits"]

    table = Table.grid(padding=(0, 2))
    table.add_column(style="label", no_wrap=True)
    table.add_column()

    def add_row(label: str, value: str | Text) -> None:
        # Every value as plain Text: "[epoll]" in wrk's version is not Rich markup.
        table.add_row(label, value if isinstance(value, Text) else Text(str(value)))

    warm = (f", after a {format_duration(load['warmup_s'])} warm-up (discarded)"
            if load["warmup_s"] else ", no warm-up")
    add_row("load", f"GET {load['path']}, {load['loop_description']}, keep-alive "
                    f"{'on' if load['keepalive'] else 'off (a new connection per request)'}")
    add_row("", f"{load['connections']} connections, {load['threads']} thread"
                f"{'s' if load['threads'] != 1 else ''}, "
                f"{format_duration(load['duration_s'])}{warm}")
    add_row("server", f"{server['language']} {server['framework']} "
                      f"({document['runtime'].get('runtime')}), {_server_cpus(limits)}")
    add_row("", f"reached at {document['path']['description']}")
    for line in runtime_version_lines(document):
        add_row("", line)
    if document.get("between_engines"):
        add_row("network", Text(document["between_engines"]["note"], style="warn"))
    version = f" {gen['version']}" if gen["version"] else ""
    add_row("client", f"{gen['name']}{version}")
    add_row("", gen["description"])
    if document["cpus"]["separated"]:
        add_row("CPUs", f"server on CPU {document['cpus']['server']}, load generator on "
                        f"{describe_cpus(document['cpus']['client'])}: kept apart")
    else:
        add_row("CPUs", Text("client and server share CPUs (they cannot be kept apart here)",
                             style="warn"))
    add_row("requests/s", Text(f"{load['requests_per_s']:,.0f}", style="figure"))
    add_row("requests", f"{load['requests']:,} in {load['measured_duration_s']:.2f} s")
    if load["open_loop"]:
        loop = load["open_loop"]
        add_row("rate", f"{loop['achieved_rate']:,.0f} req/s achieved of "
                        f"{loop['target_rate']:g} asked; {loop['not_sent']:,} not sent")
    add_row("latency", Text.assemble(
        "p50 ", (fmt_us(latency.get("p50")), "figure"), "   p90 ", fmt_us(latency.get("p90")),
        "   p99 ", fmt_us(latency.get("p99")), "   max ", fmt_us(latency.get("max"))))
    add_row("", Text(load["percentiles"], style="muted"))
    errors = load["errors"]
    add_row("socket errors", Text(
        f"{load['socket_errors']:,} (connect {errors['connect']}, read {errors['read']}, "
        f"write {errors['write']}, timeout {errors['timeout']})",
        style="fail" if load["socket_errors"] else ""))
    add_row("non-2xx", Text(f"{load['non_2xx']:,}", style="fail" if load["non_2xx"] else ""))
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


def _server_cpus(limits: Mapping[str, Any]) -> str:
    where = f" on CPU {limits['cpuset']}" if limits.get("cpuset") is not None else ""
    memory = f", {limits['memory_mb']} MB" if limits.get("memory_mb") else ""
    return f"{cores(limits['cpus'])}{where}{memory}"


def _quote(arg: str) -> str:
    return f"'{arg}'" if " " in arg else arg


# -- labctl lab bottleneck ------------------------------------------------------------------


def render_lab_bottleneck(document: Mapping[str, Any]) -> Group:
    params = document["parameters"]
    limits = document["limits"]
    cpuset = f" on CPU {limits['cpuset']}" if limits.get("cpuset") is not None else ""
    parts: list = [Text.assemble(
        ("The bottleneck lab", "label"),
        f" — closed loop, {params['connections']} kept-alive connections, "
        f"{params['duration_s']:g} s per step after a 1 s discarded warm-up; each server "
        f"limited to {cores(limits['cpus'])}{cpuset}; prediction agrees when requests/s is "
        f"within ±{params['tolerance']:.0%}.")]
    columns = [Column("step", key=True),
               Column("predicted\nreq/s", "right", group="load"),
               Column("measured\nreq/s", "right", group="load"),
               Column("gap", "right", group="load"), Column("p50", "right", group="load"),
               Column("p99", "right", group="load"),
               Column("server's own\ntiming", group="timing")]
    for entry in document["servers"].values():
        parts.append(Text(""))
        rows = []
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
            rows.append([step["step"], "–" if predicted is None else f"{predicted:,.0f}", rps,
                         gap_text, _ms_or_dash(measured["latency_p50_ms"]),
                         _ms_or_dash(measured["latency_p99_ms"]), timing_text])
        parts.append(Text.assemble((f"{entry['language']} {entry['framework']}", "label"),
                                   f" — {entry['concurrency']}"))
        parts.append(Fit(columns, rows))
        parts.append(Numbered(((step["step"], Text.assemble(
            (step["title"], "label"), f": {step['sentence']}",
            *((f"\nflagged: {reason}", "fail") for reason in step["measured"]["reasons"])))
            for step in entry["steps"]), justify="left"))
    parts.append(Text(""))
    parts.append(legend("predicted/measured req/s: requests per second; gap: measured against "
                        "predicted, green within the tolerance",
                        "p50/p99: latency each client saw, from the load generator (wrk's "
                        "histogram)",
                        "server's own timing: the Server-Timing header of one request sent "
                        "alone"))
    if document.get("id"):
        parts.extend(saved(document["id"]))
    return Group(*parts)


def _ms_or_dash(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


# -- labctl servers, verify, doctor ---------------------------------------------------------


def render_servers(document: Mapping[str, Any]) -> Group:
    """The servers with their build state; ``engine`` other than "reachable" says why the
    images could not be looked at."""
    no_engine = document["engine"] != "reachable"
    columns = [Column("server", key=True), Column("also", group="names"),
               Column("framework", group="names"), Column("version", group="names"),
               Column("image", group="image"), Column("base image", group="image")]
    rows = []
    for row in document["servers"]:
        image = row["image"]
        if no_engine:
            image_text = Text("? (no engine)", style="muted")
        elif image is None:
            image_text = Text("not built", style="warn")
        else:
            state = "built" if image["up_to_date"] else "source changed"
            image_text = Text(f"{fmt_bytes(image['size_bytes'])}, {state}",
                              style="ok" if image["up_to_date"] else "warn")
        rows.append([row["name"], ", ".join(row["aliases"][:2]),
                     f"{row['language']} {row['framework']}", row["framework_version"],
                     image_text, row["base_image"]])
    parts: list = [Fit(columns, rows)]
    if not no_engine and any(r["image"] and not r["image"]["up_to_date"]
                             for r in document["servers"]):
        parts.append(legend("source changed: built, but the server's files changed since; the "
                            "next run rebuilds it"))
    return Group(*parts)


def render_verify(document: Mapping[str, Any]) -> Group:
    from labctl import servers

    # A --source folder's server is not among the shipped ones: its name is its title here.
    titles = {s.name: s.title for s in servers.SERVERS}
    parts: list = []
    if document.get("between_engines"):
        parts += [Text(f"checked {document['checked_from']}"), *between_engines_lines(document),
                  Text("")]
    for result in document["servers"]:
        title = titles.get(result["server"], result["server"])
        table = Table(title=f"{title}: {result['status']}",
                      title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("result")
        table.add_column("check")
        table.add_column("detail")
        for check in result["checks"]:
            table.add_row(status_text(check["status"]), check["check"], check["reason"])
        parts += [table, Text("")]
    return Group(*parts)


DOCTOR_STYLE = {"ok": "ok", "warn": "warn", "missing": "fail"}


# A detail longer than this is a paragraph (a runtime's protections): printed under its name.
DOCTOR_PARAGRAPH = 110


def render_doctor(document: Mapping[str, Any]) -> Group:
    """One row per item: its status, then its name and detail in one cell that wraps under
    itself (not under the status), the fix on a row of its own; a paragraph-long detail goes
    under the name, indented as the details are."""
    from rich.padding import Padding

    parts: list = []
    for section, items in document["sections"].items():
        parts.append(Text(section, style="label"))
        width = max((len(item["name"]) for item in items), default=0)
        grid = _doctor_grid()
        for item in items:
            # Names padded to one width while they are short, so the details line up.
            name = item["name"].ljust(width) if width <= 24 else item["name"]
            status = Text("  " + item["status"], style=DOCTOR_STYLE.get(item["status"], ""))
            if len(item["detail"]) > DOCTOR_PARAGRAPH:
                grid.add_row(status, Text(item["name"], style="label"))
                parts += [grid, Padding(Text(item["detail"]), (0, 0, 0, 10))]
                grid = _doctor_grid()
            else:
                grid.add_row(status, Text.assemble((name, "label"), "  ", item["detail"]))
            if item["fix"]:
                grid.add_row("", Text("→ " + item["fix"], style="cmd"))
        parts += [grid, Text("")]
    can = document["can_run"]
    parts.append(Text.assemble(
        ("Can run: ", "label"),
        f"docker: {', '.join(can['docker']) or 'nothing'}; "
        f"local: {', '.join(can['local']) or 'nothing'}. "
        f"--runtime auto would use {document['auto_would_use']}."))
    return Group(*parts)


def _doctor_grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=9)
    grid.add_column(overflow="fold")
    return grid


# -- labctl results -------------------------------------------------------------------------


def render_results(document: Mapping[str, Any]) -> Fit:
    """Whole ids (what `results show`, `diff` and `report` take); the id already says when, so
    ``created`` shows only the minute, and it and the runtime only where there is room."""
    columns = [Column("id", key=True), Column("kind"), Column("runtime", optional=True),
               Column("servers", wrap=True), Column("created (UTC)", optional=True)]
    return Fit(columns, [[entry["id"], entry["kind"], entry.get("runtime", "?"),
                          ", ".join(entry.get("servers", [])),
                          _minute(entry.get("created", "?"))] for entry in document["results"]])


def _minute(created: str) -> str:
    """2026-12-03T16:41:19+00:00 as 2026-12-03 16:41, in UTC as stored."""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return created
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M")


def render_diff(changes: Mapping[str, Any]) -> Group:
    """The differences between two results (``labctl.diff/1``); its warnings are the caller's
    to print on stderr."""
    parts: list = [Text.assemble(("Differences", "label"),
                                 f" from {changes['a']} to {changes['b']}")]
    if changes["context"]:
        parts.append(Text("Conditions that changed:", style="label"))
        for item in changes["context"]:
            parts.append(Text(f"  {item['what']}: {item['a']} → {item['b']}"))
    else:
        parts.append(Text("Same conditions: runtime, machine, limits, versions and parameters."))
    if changes["latency"]:
        table = Table(show_edge=False, pad_edge=False, title="median latency",
                      title_justify="left")
        for column in ("server", "path", "connection", "p50 before", "p50 after", "change",
                       "beyond noise?"):
            table.add_column(column, justify="right" if column.startswith(("p50", "ch"))
                             else "left")
        for row in changes["latency"]:
            pct = row["p50_change_pct"]
            table.add_row(row["server"], row["path"], row["connection"],
                          fmt_us(row["p50_a"]), fmt_us(row["p50_b"]),
                          "–" if pct is None else f"{pct:+.1f}%",
                          Text("yes", style="warn") if row["beyond_noise"] else "no (noise)")
        parts.append(table)
    for row in changes["load"]:
        parts.append(Text(f"  {row['server']}: {row['rps_a']:,.0f} → {row['rps_b']:,.0f} "
                          f"requests/s ({row['rps_change_pct']:+.1f}%)"))
    if changes["only_in_one"]:
        parts.append(Text("Only in one of them: " + ", ".join(changes["only_in_one"])))
    return Group(*parts)


# -- any document ---------------------------------------------------------------------------

# Schema prefix → renderer: `labctl results show` renders any stored document through this.
RENDERERS = {
    "labctl.run/": render_run,
    "labctl.compare/": render_compare,
    "labctl.load/": render_load,
    "labctl.lab.bottleneck/": render_lab_bottleneck,
    "labctl.lab.edge-cases/": lab_render.edge_cases,
    "labctl.lab.slow-clients/": lab_render.slow_clients,
    "labctl.lab.shutdown/": lab_render.shutdown,
    "labctl.lab.overload/": overload_render.overload,
    "labctl.lab.proxy/": proxy_render.proxy,
    "labctl.lab.profile/": lab_render.profile,
    "labctl.servers/": render_servers,
    "labctl.verify/": render_verify,
    "labctl.doctor/": render_doctor,
    "labctl.results/": render_results,
    "labctl.diff/": render_diff,
    "labctl.lessons/": learning_render.lessons,
    "labctl.lessons.check/": learning_render.lessons_check,
    "labctl.next/": learning_render.next_step,
    "labctl.quiz.grade/": learning_render.quiz_grade,
    "labctl.exercises/": learning_render.exercises,
    "labctl.exercises-check/": learning_render.exercises_check,
    "labctl.exercise-check/": learning_render.exercise_check,
}


def renderer_for(document: dict):
    """The renderer for ``document``'s schema, or None for a schema labctl cannot show."""
    schema = str(document.get("schema", ""))
    for prefix, render in RENDERERS.items():
        if schema.startswith(prefix):
            return render
    return None
