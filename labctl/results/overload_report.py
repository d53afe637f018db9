"""The overload lab's results as charts in `labctl report`: p99 of the 2xx answers and goodput
against offered load, shedding off (solid) against on (dashed), every server on one set of axes.

Servers differ in capacity, so the x axis is the offered load as a multiple of each server's own
capacity (1× = the closed loop's maximum): the curves then bend at the same place when the
model is right, and where they do not is the finding. The page reuses the report's layout.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

RUN_STYLES = {"off": ("solid", "shedding off"), "on": ("dash", "shedding on")}


def _traces(documents: Sequence[dict]):
    """(label, server, run name, steps) for every server of every document."""
    many = len(documents) > 1
    for letter, document in zip("ABCDEFGH", documents):
        for name, entry in (document.get("servers") or {}).items():
            title = f"{entry.get('language', name)} {entry.get('framework', '')}".strip()
            if many:
                title += f" ({letter})"
            for run_name, run in (entry.get("runs") or {}).items():
                yield title, name, run_name, run.get("steps") or []


def p99_figure(go, documents: Sequence[dict], colour, layout):
    figure = go.Figure()
    timeout_ms = max(float(d["parameters"]["timeout_s"]) for d in documents) * 1000
    for index, (title, name, run_name, steps) in enumerate(_traces(documents)):
        points = [(s["fraction"], s["p99_ms"]) for s in steps if s.get("p99_ms") is not None]
        dash, words = RUN_STYLES.get(run_name, ("dot", run_name))
        figure.add_trace(go.Scatter(
            x=[x for x, _ in points], y=[y for _, y in points], mode="lines+markers",
            name=f"{title}, {words}", line={"color": colour(name, index), "dash": dash},
            hovertemplate="%{x}× capacity: p99 %{y:,.0f} ms<extra>"
                          + html.escape(f"{title}, {words}") + "</extra>"))
    figure.add_hline(y=timeout_ms, line={"color": "#888", "dash": "dot"},
                     annotation_text=f"client timeout ({timeout_ms:g} ms)")
    figure.update_layout(**layout(), xaxis={"title": "offered load (× the server's capacity)"},
                         yaxis={"type": "log", "title": "p99 of the 2xx answers (ms)"})
    return figure


def goodput_figure(go, documents: Sequence[dict], colour, layout):
    figure = go.Figure()
    top = 2.0
    for index, (title, name, run_name, steps) in enumerate(_traces(documents)):
        points = [(s["fraction"], s["goodput_fraction"]) for s in steps
                  if s.get("goodput_fraction") is not None]
        top = max([top] + [x for x, _ in points])
        dash, words = RUN_STYLES.get(run_name, ("dot", run_name))
        figure.add_trace(go.Scatter(
            x=[x for x, _ in points], y=[y * 100 for _, y in points], mode="lines+markers",
            name=f"{title}, {words}", line={"color": colour(name, index), "dash": dash},
            hovertemplate="%{x}× capacity: goodput %{y:.0f} % of capacity<extra>"
                          + html.escape(f"{title}, {words}") + "</extra>"))
    # What a perfect server would do: answer everything up to its capacity, then its capacity.
    figure.add_trace(go.Scatter(x=[0, 1, top], y=[0, 100, 100], mode="lines",
                                name="ideal: min(offered, capacity)",
                                line={"color": "#bbb", "dash": "dot"}, hoverinfo="skip"))
    figure.update_layout(**layout(), xaxis={"title": "offered load (× the server's capacity)"},
                         yaxis={"title": "goodput: 2xx within the timeout (% of capacity)",
                                "rangemode": "tozero"})
    return figure


def charts(go, documents: Sequence[dict], colour, layout) -> list[tuple[str, str, object]]:
    """(section, caption, figure) for the report page."""
    timeout = ", ".join(sorted({f"{d['parameters']['timeout_s']:g} s" for d in documents}))
    return [
        ("overload", f"p99 of the 2xx answers against offered load (open loop, oha; client "
                     f"timeout {timeout}; log scale)", p99_figure(go, documents, colour, layout)),
        ("overload", "Goodput against offered load: 2xx answers within the timeout, as a share "
                     "of each server's capacity", goodput_figure(go, documents, colour, layout)),
    ]


SECTION = ("overload", "Past capacity",
           "Each server's capacity on GET /report was measured first (closed loop); then an open "
           "loop offered fractions of it. Solid lines: as shipped; dashed: with its stack's "
           "load shedding on. A server that keeps up follows the dotted ideal; one that "
           "collapses falls away from it past 1×.")


def summary_table(documents: Sequence[dict]) -> str:
    """Capacity and the top step's goodput and p99, shedding off and on, per server."""
    rows = []
    for letter, document in zip("ABCDEFGH", documents):
        for name, entry in (document.get("servers") or {}).items():
            top = entry.get("top_step") or {}
            cells = [html.escape(f"{name} ({letter})" if len(documents) > 1 else name),
                     f"{entry['capacity']['requests_per_s']:,.0f}"]
            for run_name in ("off", "on"):
                step = top.get(run_name) or {}
                share = step.get("goodput_fraction")
                p99 = step.get("p99_ms")
                cells += ["–" if share is None else f"{share:.0%}",
                          "–" if p99 is None else f"{p99:,.0f}",
                          html.escape(step.get("verdict", "–"))]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ("<tr><th>server</th><th>capacity (req/s)</th><th>goodput, off</th>"
            "<th>p99 ms, off</th><th>verdict, off</th><th>goodput, on</th><th>p99 ms, on</th>"
            "<th>verdict, on</th></tr>")
    return ('<section class="run"><h2>At the top step</h2><table class="comparison">'
            f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
            "<p>Goodput as a share of the server's own capacity; p99 of the 2xx answers.</p>"
            "</section>")
