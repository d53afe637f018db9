"""Rich rendering of the edge-cases, slow-clients and shutdown labs' documents.

Takes the JSON-ready documents the labs produce, so the screen and ``--json`` always agree; each
renderer returns one renderable, which `labctl results show` prints too (render.RENDERERS).
"""

from __future__ import annotations

from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text


class _Lines(list):
    """Collects renderables; ``print`` mirrors Console.print so the renderers read naturally."""

    def print(self, *items) -> None:
        self.extend(items or [Text("")])


def _saved(out: _Lines, document: dict) -> None:
    if document.get("id"):
        out.print(Text(f"saved as {document['id']}  (labctl results show {document['id']})",
                       style="muted"))


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
    text = Text(cell["outcome"])
    if cell["outcome"] not in ("closed", "reset", "no answer"):
        text.append(" keep" if cell["connection"] == "open" else " close")
    if cell["breaks_must"]:
        text.stylize("fail")
        text.append(" !")
    if cell["prediction_holds"] is False:
        text.append(" *", style="warn")
    return text


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
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("request")
    table.add_column("RFC")
    for column in servers:
        table.add_column(column)
    for case in document["cases"]:
        number = str(case["number"])
        table.add_row(number, case["title"], case["level"],
                      *(_cell(entry["cells"][number]) for entry in servers.values()))
    out.print(table)
    out.print(Text("keep/close: the connection after the answer (open or closed by the server); "
                   "! breaks the RFC's MUST; * differs from the lesson's prediction.",
                   style="muted"))
    out.print()
    out.print(Text("Why each row matters", style="label"))
    for case in document["cases"]:
        out.print(Text(f"{case['number']:>2}. {case['why']} ({case['level']}: "
                       f"{case['requirement']}, {case['reference']})"))
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
    table = Table(show_edge=False, pad_edge=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("server", "left"), ("timeouts", "left"), ("trickling connections ended by", "left"),
        ("cut after (median)", "right"), ("predicted", "left"), ("normal p50 before", "right"),
        ("normal p50 during", "right"), ("normal max during", "right"),
        ("normal errors", "right"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for name, entry in document["servers"].items():
        for run_name, run in entry["runs"].items():
            ended = ", ".join(f"{how}: {n}" for how, n in sorted(run["summary"]["ended_by"].items()))
            predicted = run["predicted"]
            predicted_text = Text("–") if predicted is None else Text(
                predicted["how"] + (f" at {predicted['after_s']:g} s"
                                    if predicted["after_s"] is not None else ""))
            if run["prediction_holds"] is False:
                predicted_text.append(" *", style="warn")
            during = run["normal_during"]
            errors = Text(f"{during.get('errors', 0)}/{during.get('requests', 0)}",
                          style="fail" if during.get("errors") else "")
            ended_text = Text(ended)
            if not run["server_still_running"]:
                ended_text.append(" — the server was gone at the end", style="fail")
            table.add_row(name, run_name, ended_text,
                          "–" if run["after_s"] is None else f"{run['after_s']:g} s",
                          predicted_text, _ms_text(run["normal_before"]["latency_p50_ms"]),
                          _ms_text(during.get("latency_p50_ms")),
                          _ms_text(during.get("latency_max_ms")), errors)
    out.print(table)
    out.print(Text("ended by: 408 (the server answered Request Timeout, then closed), closed "
                   "(no answer; a FIN, or a reset when a byte was in flight), or still open when "
                   "the window ended; * the "
                   "measurement differs from the lesson's prediction (time within "
                   f"±{params['cut_tolerance_s']:g} s). Normal client: fresh connections, "
                   "latency from connect to the whole answer.", style="muted"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none sent"


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
    table = Table(show_edge=False, pad_edge=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("server", "left"), ("run", "left"), ("stop took", "right"), ("in flight", "left"),
        ("idle connections", "left"), ("steady client after SIGTERM", "left"),
        ("predicted", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for name, entry in document["servers"].items():
        for run_name, run in entry["runs"].items():
            idle_ways: dict[str, int] = {}
            for idle in run["idle"]:
                idle_ways[idle["how"]] = idle_ways.get(idle["how"], 0) + 1
            idle_times = [i["after_sigterm_s"] for i in run["idle"]
                          if i["after_sigterm_s"] is not None]
            idle_text = _counts(idle_ways) + (f" (by {max(idle_times):.2f} s)"
                                              if idle_times else "")
            in_flight = _counts({o: sum(1 for r in run["in_flight"] if r["outcome"] == o)
                                 for o in {r["outcome"] for r in run["in_flight"]}})
            prediction = run["predicted"]
            predicted_text = Text(f"{prediction['in_flight']}, ~{prediction['stop_s']:g} s")
            if not run["prediction_holds"]:
                predicted_text.append(" *", style="warn")
            table.add_row(name, run_name, Text(f"{run['stop_seconds']:.2f} s", style="figure"),
                          in_flight, idle_text, _counts(run["steady"]["after_sigterm"]),
                          predicted_text)
    out.print(table)
    out.print(Text("in flight: the status each long request got (reset / empty reply: cut); "
                   "idle: closed (a FIN from the server), reset, or still open when the stop "
                   "returned; steady: outcomes of the requests sent after SIGTERM (refused: "
                   "nothing listening any more; unreachable/timeout: the container was gone). "
                   f"* differs from the lesson's prediction (±{params['stop_tolerance_s']:g} s).",
                   style="muted"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)
