"""Rich rendering of the edge-cases, slow-clients, shutdown and profile labs' documents, in the
terminal layout of results/layout.py (80 columns and up).

Takes the JSON-ready documents the labs produce, so the screen and ``--json`` always agree; each
renderer returns one renderable, which `labctl results show` prints too (render.RENDERERS).
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from labctl.results.layout import Column, Fit, Numbered, counted, differs, legend, saved


class _Lines(list):
    """Collects renderables; ``print`` mirrors Console.print so the renderers read naturally."""

    def print(self, *items) -> None:
        self.extend(items or [Text("")])


def _saved(out: _Lines, document: dict) -> None:
    if document.get("id"):
        out.print(*saved(document["id"]))


def _your_predictions(out: _Lines, document: dict) -> None:
    mine = document.get("your_predictions")
    if not mine:
        return
    out.print()
    if not mine["total"]:
        out.print(Text("Your predictions: none matched a measured cell.", style="warn"))
    else:
        out.print(Text.assemble(("Your predictions: ", "label"),
                                (f"{mine['right']} of {mine['total']} right "
                                 f"({mine['score']:.0%})", "figure")))
        for judged in mine["judged"]:
            if not judged["correct"]:
                out.print(Text(f"  ✗ {judged['column']} row {judged['row']}: you said "
                               f"{judged['predicted']}", style="warn"))
    if mine["not_measured"]:
        out.print(Text("  not measured in this run: " + ", ".join(mine["not_measured"]),
                       style="muted"))


def _cell(cell: dict) -> Text:
    # "100 → 501": the interim answer on a line of its own keeps the column narrow.
    text = Text(cell["outcome"].replace(" → ", " →\n"))
    if cell["outcome"] not in ("closed", "reset", "no answer"):
        text.append(" keep" if cell["connection"] == "open" else " close")
    if cell["breaks_must"]:
        text.stylize("fail")
        text.append(" !")
    return differs(text, cell["prediction_holds"] is False)


def edge_cases(document: dict) -> Group:
    out = _Lines()
    servers = document["servers"]
    out.print(Text.assemble(
        ("The edge-cases lab", "label"),
        " — each request on a new TCP connection, sent byte by byte; a cell is the status (or "
        "what happened instead) and whether the server kept the connection open afterwards."))
    for column, entry in servers.items():
        if entry.get("parser_requested"):
            reported = entry.get("parser_reported") or "not reported"
            out.print(Text(f"{column}: uvicorn parser requested {entry['parser_requested']}, "
                           f"the server reports {reported}"))
    # Servers in pairs: a lab with more columns than 80 fit prints one table per pair.
    columns = [Column("#", "right", key=True), Column("request", optional=True),
               Column("RFC", key=True),
               *(Column(name, group=str(i // 2)) for i, name in enumerate(servers))]
    rows = [[str(case["number"]), case["title"], case["level"],
             *(_cell(entry["cells"][str(case["number"])]) for entry in servers.values())]
            for case in document["cases"]]
    out.print(Fit(columns, rows))
    out.print(legend("keep/close: the connection after the answer (open, or closed by the "
                     "server)", "! breaks the RFC's MUST", "* differs from the lesson's prediction",
                     "each row's request is named below"))
    out.print()
    out.print(Text("The requests, and why each row matters", style="label"))
    out.print(Numbered((f"{case['number']}.", Text.assemble(
        (case["title"], "label"), f" — {case['why']} ({case['level']}: {case['requirement']}, "
                                  f"{case['reference']})")) for case in document["cases"]))
    summary = document["summary"]
    out.print()
    out.print(Text.assemble(("MUSTs broken: ", "label"), str(len(summary["musts_broken"]))))
    for broken in summary["musts_broken"]:
        out.print(Text(f"  row {broken['case']}, {broken['column']}: {broken['why']}",
                       style="fail"))
    out.print(Text.assemble(("Predictions the measurement contradicted: ", "label"),
                            str(len(summary["predictions_wrong"]))))
    for wrong in summary["predictions_wrong"]:
        out.print(Text(f"  row {wrong['case']}, {wrong['column']}: predicted "
                       f"{wrong['predicted']}, measured {wrong['measured']}", style="warn"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)


def _ms_text(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


# The JSON's "open at the end", in the table's few characters (the legend says what it means).
_SHORT_ENDINGS = {"open at the end": "open"}


def slow_clients(document: dict) -> Group:
    out = _Lines()
    params = document["parameters"]
    out.print(Text.assemble(
        ("The slow-clients lab", "label"),
        f" — {params['connections']} connections each send the start of a request and then one "
        f"header byte every {params['interval_s']:g} s, watched for {params['window_s']:g} s; "
        f"meanwhile a normal client sends GET /health on a new connection every "
        f"{params['normal_every_s']:g} s (timeout {params['normal_timeout_s']:g} s). Each server "
        f"runs as shipped and with its stack's default timeouts ({params['defaults_env']}=1)."))
    columns = [Column("server", key=True), Column("timeouts", key=True),
               Column("ended by", group="attack"),
               Column("cut after\n(median)", "right", group="attack"),
               Column("predicted", group="attack"),
               Column("p50\nbefore", "right", group="normal"),
               Column("p50\nduring", "right", group="normal"),
               Column("max\nduring", "right", group="normal"),
               Column("errors", "right", group="normal")]
    rows = []
    for name, entry in document["servers"].items():
        for run_name, run in entry["runs"].items():
            predicted = run["predicted"]
            predicted_text = differs("–" if predicted is None else (
                _SHORT_ENDINGS.get(predicted["how"], predicted["how"])
                + (f" at {predicted['after_s']:g} s"
                                    if predicted["after_s"] is not None else "")),
                run["prediction_holds"] is False)
            during = run["normal_during"]
            errors = Text(f"{during.get('errors', 0)}/{during.get('requests', 0)}",
                          style="fail" if during.get("errors") else "")
            ended_text = Text(counted({_SHORT_ENDINGS.get(how, how): n
                                       for how, n in run["summary"]["ended_by"].items()}))
            if not run["server_still_running"]:
                ended_text.append(" (server gone)", style="fail")
            rows.append([name, run_name, ended_text,
                         "–" if run["after_s"] is None else f"{run['after_s']:g} s",
                         predicted_text, _ms_text(run["normal_before"]["latency_p50_ms"]),
                         _ms_text(during.get("latency_p50_ms")),
                         _ms_text(during.get("latency_max_ms")), errors])
    out.print(Fit(columns, rows, group_titles={
        "attack": "The trickling connections",
        "normal": "The normal client meanwhile"}))
    out.print(legend(
        "timeouts: the server as shipped, or with its stack's defaults",
        "ended by: how many trickling connections got 408 (Request Timeout, then closed), "
        "closed (no answer; a FIN, or a reset when a byte was in flight), or were still open "
        "when the window ended (open); (server gone): the server was not running at the end",
        f"* the measurement differs from the lesson's prediction (time within "
        f"±{params['cut_tolerance_s']:g} s)",
        "normal client: p50 before the attack (alone for "
        f"{params.get('baseline_s', 2.0):g} s) and during it, the slowest answer during it, and "
        "errors of requests sent; latency from connect to the whole answer"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)


def _counts(counts: dict) -> str:
    return counted(counts) if counts else "none sent"


def shutdown(document: dict) -> Group:
    out = _Lines()
    params = document["parameters"]
    out.print(Text.assemble(
        ("The shutdown lab", "label"),
        f" — {params['in_flight']} requests in flight (each waits "
        f"{params['in_flight_wait_ms'] / 1000:g} s in the handler), {params['idle_connections']} "
        f"idle kept-alive connections and a steady client (GET /health, a new connection every "
        f"{params['steady_every_s'] * 1000:g} ms); {params['stop_after_s']:g} s later: "
        f"{params['stop']} ({params['grace_s']:g} s). Each server with its graceful handler and "
        f"without it ({params['off_env']}=off)."))
    columns = [Column("server", key=True), Column("run", key=True),
               Column("stop took", "right", group="stop"), Column("predicted", group="stop"),
               Column("in flight", group="requests"), Column("idle conns", group="idle"),
               Column("steady after\nSIGTERM", group="requests")]
    rows = []
    for name, entry in document["servers"].items():
        for run_name, run in entry["runs"].items():
            idle_ways: dict[str, int] = {}
            for idle in run["idle"]:
                idle_ways[idle["how"]] = idle_ways.get(idle["how"], 0) + 1
            idle_times = [i["after_sigterm_s"] for i in run["idle"]
                          if i["after_sigterm_s"] is not None]
            idle_text = _counts(idle_ways) + (f" by {max(idle_times):.2f} s"
                                              if idle_times else "")
            in_flight = _counts({o: sum(1 for r in run["in_flight"] if r["outcome"] == o)
                                 for o in {r["outcome"] for r in run["in_flight"]}})
            prediction = run["predicted"]
            predicted_text = differs(f"{prediction['in_flight']}, ~{prediction['stop_s']:g} s",
                                     not run["prediction_holds"])
            rows.append([name, run_name, Text(f"{run['stop_seconds']:.2f} s", style="figure"),
                         predicted_text, in_flight, idle_text,
                         _counts(run["steady"]["after_sigterm"])])
    out.print(Fit(columns, rows, group_titles={
        "stop": "How long the stop took", "requests": "What the requests got",
        "idle": "The idle kept-alive connections"}))
    out.print(legend(
        "predicted: what the in-flight requests get, and how long the stop takes",
        "in flight: the status each long request got (reset / empty reply: cut)",
        "idle conns: closed (a FIN from the server), reset, or still open when the stop "
        "returned, and when the last one ended",
        "steady: outcomes of the requests sent after SIGTERM (refused: nothing listening any "
        "more; unreachable/timeout: the container was gone)",
        f"* differs from the lesson's prediction (±{params['stop_tolerance_s']:g} s)"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)


PROFILE_LAYERS = ("handler", "framework", "runtime", "kernel", "other")
LAYER_STYLES = {"handler": "bold", "framework": "", "runtime": "warn", "kernel": "muted",
                "other": "muted"}
FUNCTION_WIDTH = 56   # the top-functions tables fit 80 columns


def _short_function(name: str, width: int = FUNCTION_WIDTH) -> str:
    """Long names (Rust generics, Python paths) keep their end, where the function is named."""
    return name if len(name) <= width else "…" + name[-(width - 1):]


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def _top_table(rows: list[dict], title: str, limit: int = 5) -> Table:
    table = Table(show_edge=False, pad_edge=False, title=title, title_justify="left",
                  title_style="label")
    table.add_column("function", no_wrap=True, max_width=FUNCTION_WIDTH)
    table.add_column("layer", no_wrap=True)
    table.add_column("samples", justify="right")
    for row in rows[:limit]:
        layer = row["layer"] if row["layer"] != "other" else "·"
        table.add_row(_short_function(row["function"]), Text(layer, LAYER_STYLES[row["layer"]]),
                      _percent(row["share"]))
    return table


def _overhead_text(entry: dict) -> Text:
    over = entry["overhead"]
    text = Text.assemble(("overhead  ", "label"),
                         (f"{over['without_rps']:,.0f}", "figure"), " req/s without sampling, ",
                         (f"{over['with_rps']:,.0f}", "figure"), " while sampling")
    if over["cost"] is not None:
        text.append(f": {-over['cost'] * 100:+.1f}% ")
        text.append(f"(the two unsampled runs differ by {over['noise'] * 100:.1f}%"
                    + ("" if over["beyond_noise"] else ": within noise") + ")",
                    style="" if over["beyond_noise"] else "muted")
    return text


def profile(document: dict) -> Group:
    out = _Lines()
    params = document["parameters"]
    out.print(Text.assemble(
        ("The profiling lab", "label"),
        f" — GET {params['path']}, closed loop, {params['connections']} kept-alive connections. "
        f"Each server runs with {params['profile_env']}=on and gets {params['load_s']:g} s of "
        f"load without sampling, {params['load_s']:g} s while its profiler samples "
        f"{params['rate_hz']} times a second, then {params['load_s']:g} s without again."))
    for entry in document["servers"].values():
        summary, profiler = entry["profile"], entry["profiler"]
        out.print()
        out.print(Text.assemble((f"{entry['language']} {entry['framework']}", "label"),
                                f" · {profiler['name']} · {summary['samples']:,} samples in "
                                f"{profiler['seconds']} s"))
        out.print(Text(f"  {profiler['how']}", style="muted"))
        layers = Text("  layers  ", style="label")
        for layer in PROFILE_LAYERS:
            layers.append(f"{layer} ")
            layers.append(_percent(summary["layers"].get(layer)), style="figure")
            layers.append("  ")
        out.print(layers)
        if entry.get("predicted_dominant"):
            verdict = Text(f"  most samples: {summary['dominant']} (the lesson predicts "
                           f"{entry['predicted_dominant']})")
            if entry["prediction_holds"] is False:
                verdict.append(" *", style="warn")
            out.print(verdict)
        out.print(_top_table(summary["top"]["self"], "  top by self (running)"))
        out.print(_top_table(summary["top"]["handler_total"],
                             "  the handler's functions by total (on the stack)"))
        out.print(_overhead_text(entry))
        out.print(Text.assemble(("by hand   ", "label"), profiler["by_hand"]))
    out.print()
    out.print(Text("layer: the innermost part of the stack a sample was in — handler (the "
                   "server's own code and what it calls), framework (HTTP server and web "
                   "framework), runtime (GC and allocator, scheduler, event loop), kernel (a "
                   "system call, where the profiler can see it); · code no rule knows, counted "
                   "with its caller. self: samples where the function was running; total: where "
                   "it was anywhere on the stack (the --json document lists every layer's). "
                   "* differs from the lesson's prediction. "
                   "`labctl report` draws the flame graphs.", style="muted"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)
