"""Flame graphs of a saved profile lab, one per server side by side, as one HTML page.

Each flame graph is plotly's icicle chart turned upside down: the root at the bottom, each
function's callees stacked on it, every box as wide as the samples it was on the stack for. A
box is coloured by its layer (the same colour for a layer in every server's graph): a frame no
rule knows takes its caller's colour, as its samples count for its caller's layer. Boxes under
``MIN_SHARE`` of a server's samples are left out (their time still counts in their parent's
width), so a graph of a deep Rust stack stays light enough to open.

Nothing here measures: a ``labctl.lab.profile`` document in, one HTML string out.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from labctl.results.report import _CSS, ReportError, _plotly

LAYER_COLOURS = {"handler": "#e4572e", "framework": "#4c78a8", "runtime": "#f2b134",
                 "kernel": "#6f6f6f", "other": "#c4c4c4"}
LAYER_WORDS = {"handler": "handler: the server's own code and what it calls",
               "framework": "framework: the HTTP server and web framework",
               "runtime": "runtime: GC and allocator, scheduler, event loop",
               "kernel": "kernel: a system call, where visible",
               "other": "no rule knows this code"}
MIN_SHARE = 0.002
ROOT = "all samples"


def is_profile(document: dict) -> bool:
    return str(document.get("schema", "")).startswith("labctl.lab.profile/")


def flame_tree(folded: dict[str, int], frame_layers: dict[str, str],
               min_share: float = MIN_SHARE) -> dict[str, list]:
    """The icicle's columns: ids (the path from the root), labels, parents, values (samples on
    the stack at that path) and layers (the frame's own, or its caller's when no rule knows it).
    """
    total = sum(folded.values())
    values: dict[tuple[str, ...], int] = {}
    for stack, count in folded.items():
        frames = tuple(stack.split(";"))
        for depth in range(1, len(frames) + 1):
            values[frames[:depth]] = values.get(frames[:depth], 0) + count
    floor = total * min_share
    ids, labels, parents, counts, layers = [ROOT], [ROOT], [""], [total], ["other"]
    layer_at: dict[tuple[str, ...], str] = {(): "other"}
    for path in sorted(values, key=len):
        if values[path] < floor or path[:-1] not in layer_at:
            continue
        own = frame_layers.get(path[-1], "other")
        layer_at[path] = own if own != "other" else layer_at[path[:-1]]
        ids.append(ROOT + ";" + ";".join(path))
        labels.append(path[-1])
        parents.append(ROOT + (";" + ";".join(path[:-1]) if len(path) > 1 else ""))
        counts.append(values[path])
        layers.append(layer_at[path])
    return {"ids": ids, "labels": labels, "parents": parents, "values": counts, "layers": layers}


def _figure(go, entry: dict):
    tree = flame_tree(entry.get("folded") or {}, entry["profile"].get("frame_layers") or {})
    total = tree["values"][0] or 1
    shares = [f"{value / total:.1%}" for value in tree["values"]]
    figure = go.Figure(go.Icicle(
        ids=tree["ids"], labels=tree["labels"], parents=tree["parents"], values=tree["values"],
        branchvalues="total", tiling={"orientation": "v", "flip": "y"},
        marker={"colors": [LAYER_COLOURS[layer] for layer in tree["layers"]]},
        customdata=list(zip(shares, tree["layers"])),
        hovertemplate="%{label}<br>%{value} samples (%{customdata[0]})<br>"
                      "layer: %{customdata[1]}<extra></extra>",
        maxdepth=-1, textfont={"size": 11}))
    figure.update_layout(height=560, margin={"l": 4, "r": 4, "t": 4, "b": 4},
                         font={"family": "system-ui, -apple-system, Segoe UI, sans-serif"})
    return figure


def build_profile_report(documents: Sequence[dict]) -> str:
    """The page for one ``labctl.lab.profile`` document: a flame graph per server."""
    if len(documents) != 1 or not is_profile(documents[0]):
        raise ReportError("a profile report draws exactly one saved profile lab",
                          "Name one result of labctl lab profile (see labctl results)")
    go, offline = _plotly()
    document = documents[0]
    servers = document.get("servers") or {}
    params = document.get("parameters") or {}
    figures = []
    for index, (name, entry) in enumerate(servers.items()):
        div = _figure(go, entry).to_html(full_html=False, include_plotlyjs=False,
                                         div_id=f"chart-{index}",
                                         config={"displaylogo": False, "responsive": True})
        summary, profiler = entry["profile"], entry["profiler"]
        shares = ", ".join(f"{layer} {share:.0%}" for layer, share in summary["layers"].items()
                           if share >= 0.005)
        over = entry.get("overhead") or {}
        cost = over.get("cost")
        caption = (f"{entry.get('language', name)} {entry.get('framework', '')}: "
                   f"{profiler['name']}, {summary['samples']:,} samples at {profiler['rate_hz']} Hz"
                   f" — {shares}")
        note = ("" if cost is None else
                f"throughput {over['without_rps']:,.0f} req/s without sampling, "
                f"{over['with_rps']:,.0f} while sampling ({-cost:+.1%}; the two unsampled "
                f"loads differ by {over['noise']:.1%})")
        figures.append(f'<figure class="chart" data-chart="{index}">'
                       f"<figcaption>{html.escape(caption)}</figcaption>"
                       f'<p class="note">{html.escape(note)}</p>{div}</figure>')
    legend = "".join(f'<span class="layer"><span class="dot" style="background:{colour}">'
                     f"</span>{html.escape(LAYER_WORDS[layer])}</span>"
                     for layer, colour in LAYER_COLOURS.items())
    intro = (f"GET {params.get('path', '?')}, closed loop, {params.get('connections', '?')} "
             f"kept-alive connections, each server limited as below; every profiler sampled "
             f"{params.get('rate_hz', '?')} times a second for the whole loaded run. "
             "Read a flame graph bottom up: the root at the bottom, each function's callees on "
             "top of it, each box as wide as the samples it was on the stack for. The top edge "
             "is where the CPU was. Colours are layers; click a box to zoom into it, click the "
             "bottom bar to zoom out.")
    limits = document.get("limits") or {}
    body = (f"<h1>labctl lab profile — {html.escape(_when_text(document))}</h1>"
            f'<section class="run"><p>{html.escape(intro)}</p><p class="when">result '
            f"{html.escape(str(document.get('id', 'unsaved run')))}; limits per server: "
            f"{html.escape(str(limits.get('cpus', '?')))} core(s), "
            f"{html.escape(str(limits.get('memory_mb', '?')))} MB</p>"
            f'<p class="legend">{legend}</p></section>'
            f'<section class="charts flames"><h2>Where the CPU goes</h2>'
            f'<div class="flames">{"".join(figures)}</div></section>'
            "<footer>Drawn by labctl from a saved result; figures are exactly those stored. "
            "Plots: plotly, inlined — this page needs no network.</footer>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>labctl profile {html.escape(str(document.get('id', '')))}</title>"
            f"<style>{_CSS}{_FLAME_CSS}</style><script>{offline.get_plotlyjs()}</script>"
            f"</head><body><main>{body}</main></body></html>")


def _when_text(document: dict) -> str:
    created = document.get("created")
    try:
        moment = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        return moment.strftime("%a %d %b %Y, %H:%M UTC")
    except ValueError:
        return str(created or "time unknown")


_FLAME_CSS = """
main { max-width: 1400px; }
div.flames { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
             gap: 12px; }
div.flames figure.chart { margin: 0; min-width: 0; }
.note { margin: 0 0 4px; font-size: 13px; }
.legend .layer { margin-right: 14px; white-space: nowrap; }
"""
