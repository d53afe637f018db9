"""Rich rendering of the proxy lab's document: four tables per server, then the predictions.

Takes the JSON-ready document, so the screen, ``--json`` and `labctl results show` agree. Every
table fits 80 columns.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from labctl.results.lab_render import _Lines, _saved, _your_predictions


def _table(*columns: tuple[str, str]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


def _us(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _limits_line(document: dict) -> Text:
    nginx = document["nginx"]
    limits = nginx.get("limits") or {}
    server = document["limits"]
    cpuset = limits.get("cpuset")
    where = f"CPU {cpuset}, shared with labctl's client" if cpuset else "any CPU"
    server_where = f"CPU {server['cpuset']}" if server.get("cpuset") else "any CPU"
    memory = f", {limits['memory_mb']} MB" if limits.get("memory_mb") else ""
    return Text(f"nginx: {nginx['version']} ({nginx['source']}); 1 worker process, "
                f"{limits.get('cpus', 1):g} core on {where}{memory}. Each server: "
                f"{server['cpus']:g} core on {server_where}.", style="muted")


def hop_table(hop: dict) -> Table:
    table = _table(("path", "left"), ("client conn.", "left"), ("p50 µs", "right"),
                   ("p99 µs", "right"), ("upstream conns / 1,000", "right"))
    for path, modes in hop["latency_us"].items():
        for mode, series in modes.items():
            per = hop["upstream_per_1000"].get(path, {}).get(mode)
            counted = hop["upstream_connections"].get(path, {}).get(mode)
            per_text = "–" if per is None else f"{per:,.1f} ({counted} counted)"
            errors = f" ({series['not_200']} not 200)" if series["not_200"] else ""
            table.add_row(path, mode, _us(series["p50_us"]), _us(series["p99_us"]) + errors,
                          per_text)
    return table


def odd_table(odd: dict) -> Table:
    """One row per odd request, by number: the requests are named once, under the last server
    (``odd_requests``), so no name is ever cut to fit 80 columns."""
    table = _table(("#", "right"), ("direct", "left"), ("via nginx", "left"), ("nginx", "left"))
    for number, row in odd["rows"].items():
        verdict = Text(row["nginx"])
        if row["disagree"]:
            verdict.append(" ≠", style="warn")
        table.add_row(number, row["direct"], row["through_nginx"], verdict)
    return table


def odd_requests(document: dict) -> Text:
    """The odd requests by number, whole: the key to every server's table 2."""
    lines = [f"{c['number']:>3}. {c['title']}" for c in document.get("cases", [])]
    return Text("The odd requests (table 2's rows):\n" + "\n".join(lines), style="muted")


def slow_table(slow: dict) -> Table:
    table = _table(("nginx", "left"), ("attack conns", "left"), ("after", "right"),
                   ("server conns", "right"), ("normal p50", "right"), ("errors", "right"))
    for run, entry in slow.items():
        ended = ", ".join(f"{'open' if how == 'open at the end' else how}: {n}"
                          for how, n in sorted(entry["summary"]["ended_by"].items()))
        after = "–" if entry["after_s"] is None else f"{entry['after_s']:g} s"
        during = entry["normal_during"]
        p50 = during.get("latency_p50_ms")
        table.add_row(f"{run}, {entry['client_header_timeout_s']} s", ended, after,
                      f"{entry['server_accepted']} ({entry['server_accepted_from_attack']})",
                      "–" if p50 is None else f"{p50:,.1f} ms",
                      f"{during.get('errors', 0)}/{during.get('requests', 0)}")
    return table


def restart_table(restarts: dict) -> Table:
    table = _table(("run", "left"), ("requests", "right"), ("failed", "right"),
                   ("outcomes", "left"), ("down s", "right"))
    labels = {"one": "one upstream", "rolling": "two, rolling"}
    for run, entry in restarts.items():
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(entry["outcomes"].items(),
                                                               key=lambda kv: -kv[1]))
        down = " + ".join(f"{t['down_s']:g}" for t in entry["restarts"])
        failed = Text(str(entry["failed"]), style="fail" if entry["failed"] else "ok")
        table.add_row(labels.get(run, run), str(entry["requests"]), failed, outcomes, down)
    return table


def _predictions(out: _Lines, entry: dict, document: dict) -> None:
    holds = entry.get("prediction_holds") or {}
    missed = [row for row, ok in holds.items() if not ok]
    out.print(Text.assemble(("The lesson's predictions: ", "label"),
                            f"{len(holds) - len(missed)} of {len(holds)} hold"))
    for row in missed:
        out.print(Text(f"  ✗ {row}: predicted {document['predicted'][row]['text']}",
                       style="warn"))


def proxy(document: dict) -> Group:
    out = _Lines()
    params = document["parameters"]
    out.print(Text.assemble(("The proxy lab", "label"),
                            " — nginx in front of each server: the hop's cost, odd requests, "
                            "slowloris, restarts."))
    out.print(_limits_line(document))
    forwarded = document.get("forwarded") or {}
    rewritten = [(n, r["rewrites"]) for n, r in forwarded.items() if r["rewrites"]]
    if forwarded:
        out.print(Text("What nginx forwards (a recording stand-in upstream): every request as "
                       "HTTP/1.0 with Host: app and Connection: close (defaults); beyond that, "
                       + ("; ".join(f"row {n}: {', '.join(w)}" for n, w in rewritten)
                          or "nothing else changed") + ".", style="muted"))
    for name, entry in document["servers"].items():
        out.print()
        out.print(Text(f"{entry.get('language', name)} {entry.get('framework', '')}",
                       style="label"))
        hop = entry.get("hop")
        if hop:
            out.print(Text(f"1. The hop's cost — GET /health, {hop['requests_per_series']} "
                           "requests a series, timed by libcurl. Upstream connections: "
                           f"{hop['counted_by']}.", style="muted"))
            out.print(hop_table(hop))
        odd = entry.get("odd")
        if odd:
            counts = odd["counts"]
            out.print(Text(f"2. Odd requests — nginx refused {counts['refused']}, rewrote "
                           f"{counts['rewritten']}, passed {counts['unchanged']} unchanged; "
                           "≠: nginx passed the request on and the server, sent it directly, "
                           "refused it (400, 431, 501 or a close), or the reverse.",
                           style="muted"))
            out.print(odd_table(odd))
        slow = entry.get("slowloris")
        if slow:
            out.print(Text(f"3. Slowloris through nginx — {params['slow_connections']} "
                           f"trickling connections for {params['slow_window_s']:g} s, "
                           "client_header_timeout as shown; server conns: connections the "
                           "server accepted during the attack (in brackets: beyond the normal "
                           "client's requests).", style="muted"))
            out.print(slow_table(slow))
        restarts = entry.get("restarts")
        if restarts:
            out.print(Text(f"4. Restarts — {params['steady_client']}; graceful stop, then "
                           f"{params['after_restart']}.", style="muted"))
            out.print(restart_table(restarts))
        _predictions(out, entry, document)
    if any(entry.get("odd") for entry in document["servers"].values()):
        out.print()
        out.print(odd_requests(document))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)
