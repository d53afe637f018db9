"""A self-contained HTML report of saved compare runs: tables, percentile plots, histograms, bars.

Latency is a distribution, so the centre of the page is the *percentile spectrum* (latency
against 50%, 90%, 99%, 99.9% … on a "nines" axis, HdrHistogram's picture): it shows the tail a
median hides. Plots are drawn with plotly, whose JavaScript is inlined once, so the page opens
with no network and can be mailed as one file. plotly is an optional extra (``labctl[report]``)
and is imported only here, only when a report is asked for.

Nothing here measures or prints: documents in, one HTML string out.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence

from labctl.errors import EnvironmentProblem, UsageProblem

EXTRA_HINT = "Install the report extra: pip install 'labctl[report]'"

# Percentiles marked on the spectrum's x axis.
SPECTRUM_TICKS = (0.5, 0.9, 0.99, 0.999, 0.9999)
MODE_WORDS = {"fresh": "new connection per request", "keepalive": "kept-alive connection"}
# One colour per server, the same in every chart of the page.
SERVER_COLOURS = {"go": "#00add8", "python": "#d9a400", "rust": "#b7410e", "node": "#3c873a"}
EXTRA_COLOURS = ("#8e44ad", "#c0392b", "#16a085", "#d35400", "#7f8c8d")
RUN_DASHES = ("solid", "dash", "dot", "dashdot")


class ReportError(UsageProblem):
    """The results asked for cannot be drawn (none, too many, not compare results)."""


class MissingExtra(EnvironmentProblem):
    """plotly, the report extra, is not installed."""


def _plotly():
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError:
        raise MissingExtra("drawing a report needs plotly, which is not installed",
                           EXTRA_HINT) from None
    return go, plotly.offline


def build_report(documents: Sequence[dict]) -> str:
    """The whole page for one or more ``labctl.compare`` documents (several: side by side)."""
    if not documents:
        raise ReportError("nothing to report", "Run labctl compare first")
    if all(str(d.get("schema", "")).startswith("labctl.lab.overload/") for d in documents):
        return _overload_report(documents)
    for document in documents:
        if not str(document.get("schema", "")).startswith("labctl.compare/"):
            raise ReportError(
                f"result {document.get('id', '?')} is a {document.get('schema', '?')} document; "
                "a report is drawn from compare results, one profile lab, or overload lab results",
                "List them with: labctl results")
    go, offline = _plotly()
    if len(documents) > 8:
        raise ReportError("a report puts at most 8 runs side by side",
                          "Name fewer result ids")
    side_by_side = len(documents) > 1
    runs = [_Run(letter, document, side_by_side)
            for letter, document in zip("ABCDEFGH", documents)]
    charts: list[tuple[str, str, object]] = []   # (section, caption, figure)
    summary_only = any(not _has_samples(run, name) for run in runs for name in run.measured_servers())
    for path, mode in _series_keys(runs):
        caption = f"GET {path}: {MODE_WORDS.get(mode, mode)}"
        if summary_only:
            caption += " (a result saved before samples were kept is drawn from p50/p90/p99 only)"
        charts.append(("latency", caption, _spectrum_figure(go, runs, path, mode)))
    for run in runs:
        for name in run.measured_servers():
            if not _has_samples(run, name):
                continue
            charts.append(("histograms", f"{run.label(name)}: where the samples fall",
                           _histogram_figure(go, run, name)))
    for title, unit, value_of in _BAR_METRICS:
        if value_of is _memory_mb:
            title = _memory_title(runs)
        figure = _bar_figure(go, runs, title, unit, value_of)
        if figure is not None:
            charts.append(("resources", title, figure))
    load = _bar_figure(go, runs, "Load: requests per second", "req/s", _load_rps)
    if load is not None:
        charts.append(("load", _load_caption(runs), load))
    return _page(runs, charts, offline.get_plotlyjs())


def _overload_report(documents: Sequence[dict]) -> str:
    """Saved `labctl lab overload` results: the latency and goodput curves against offered
    load, all servers on one set of axes (labctl/labs/overload_report.py)."""
    from labctl.results import overload_report

    go, offline = _plotly()
    if len(documents) > 8:
        raise ReportError("a report puts at most 8 runs side by side", "Name fewer result ids")
    charts = overload_report.charts(go, documents, _colour, _layout)
    ids = ", ".join(str(d.get("id", "unsaved run")) for d in documents)
    parts = [f"<h1>labctl lab overload — {html.escape(ids)}</h1>",
             overload_report.summary_table(documents)]
    key, heading, intro = overload_report.SECTION
    parts.append(f'<section class="charts {key}"><h2>{heading}</h2><p>{intro}</p>'
                 + "".join(_chart_html(index, caption, figure)
                           for index, (_, caption, figure) in enumerate(charts)) + "</section>")
    return _html_page(f"labctl report: {ids}", parts, offline.get_plotlyjs())


# --- one saved run ---------------------------------------------------------------------------

class _Run:
    def __init__(self, letter: str, document: dict, side_by_side: bool) -> None:
        self.letter = letter
        self.document = document
        self.side_by_side = side_by_side   # labels then carry the run's letter
        self.servers: dict[str, dict] = document.get("servers") or {}

    @property
    def id(self) -> str:
        return str(self.document.get("id", "unsaved run"))

    def label(self, server: str) -> str:
        title = _server_title(self.servers.get(server, {}), server)
        return f"{title} ({self.letter})" if self.side_by_side else title

    def measured_servers(self) -> list[str]:
        return [name for name, entry in self.servers.items() if entry.get("measured", True)
                and entry.get("latency")]

    def series(self, server: str, path: str, mode: str) -> dict | None:
        return (((self.servers.get(server) or {}).get("latency") or {}).get(path) or {}).get(mode)


def _server_title(entry: dict, fallback: str) -> str:
    language, framework = entry.get("language"), entry.get("framework")
    return f"{language} {framework}" if language and framework else fallback


def _has_samples(run: _Run, server: str) -> bool:
    latency = run.servers[server].get("latency") or {}
    return any(series.get("totals_us") for modes in latency.values() for series in modes.values())


def _colour(server: str, index: int) -> str:
    return SERVER_COLOURS.get(server, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def _series_keys(runs: Iterable[_Run]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for run in runs:
        for entry in run.servers.values():
            for path, modes in (entry.get("latency") or {}).items():
                for mode in modes:
                    if (path, mode) not in keys:
                        keys.append((path, mode))
    return keys


# --- the percentile spectrum -----------------------------------------------------------------

def spectrum_points(totals_us: Sequence[float]) -> tuple[list[float], list[float]]:
    """(x, latency) for the percentile spectrum, with x = 1 / (1 - p): 90% → 10, 99% → 100.

    Drawn as steps: the r-th smallest of n samples is the nearest-rank percentile for every p
    in ((r-1)/n, r/n], so its step starts at p = (r-1)/n. The last step is closed at
    p = 1 - 1/(2n), half a sample short of 100%, which a 1/(1-p) axis cannot show.
    """
    ordered = sorted(totals_us)
    count = len(ordered)
    xs = [1.0 / (1.0 - (rank - 1) / count) for rank in range(1, count + 1)]
    ys = list(ordered)
    if ordered:
        xs.append(2.0 * count)
        ys.append(ordered[-1])
    return xs, ys


def _summary_points(summary: dict) -> tuple[list[float], list[float]]:
    """Old results kept only percentiles: draw those few points."""
    points = [(0.5, summary.get("p50")), (0.9, summary.get("p90")), (0.99, summary.get("p99"))]
    kept = [(1.0 / (1.0 - p), v) for p, v in points if isinstance(v, (int, float))]
    return [x for x, _ in kept], [v for _, v in kept]


def _spectrum_figure(go, runs: Sequence[_Run], path: str, mode: str):
    figure = go.Figure()
    top = 10.0
    for run_index, run in enumerate(runs):
        for index, name in enumerate(run.measured_servers()):
            series = run.series(name, path, mode)
            if not series:
                continue
            totals = series.get("totals_us")
            if totals:
                xs, ys = spectrum_points(totals)
                shape, note = "lines", f"{len(totals)} samples"
            elif series.get("summary"):
                xs, ys = _summary_points(series["summary"])
                shape, note = "lines+markers", "p50/p90/p99 only (result saved before samples were kept)"
            else:
                continue
            top = max(top, max(xs, default=top))
            figure.add_trace(go.Scatter(
                x=xs, y=ys, mode=shape, name=run.label(name),
                line={"color": _colour(name, index), "dash": RUN_DASHES[run_index % 4],
                      "shape": "hv"},
                customdata=[_percent_label(1 - 1 / x) for x in xs],
                hovertemplate="%{customdata}: %{y:,.0f} µs<extra>" + html.escape(
                    f"{run.label(name)}, {note}") + "</extra>"))
    ticks = [1 / (1 - p) for p in SPECTRUM_TICKS if 1 / (1 - p) <= top * 1.01]
    figure.update_layout(**_layout(), xaxis={
        "type": "log", "title": "percentile", "tickvals": ticks,
        "ticktext": [_percent_label(1 - 1 / t) for t in ticks]},
        yaxis={"type": "log", "dtick": "D2",
               "title": "latency (µs, time_total as curl reports it)"})
    return figure


def _percent_label(p: float) -> str:
    text = f"{p * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


# --- histograms ------------------------------------------------------------------------------

def _histogram_figure(go, run: _Run, name: str):
    figure = go.Figure()
    entry = run.servers[name]
    for path, modes in (entry.get("latency") or {}).items():
        for mode, series in modes.items():
            totals = series.get("totals_us")
            if not totals:
                continue
            figure.add_trace(go.Histogram(
                x=totals, name=f"{path} {MODE_WORDS.get(mode, mode)}", opacity=0.6,
                nbinsx=min(80, max(10, len(totals) // 5)),
                hovertemplate="%{x} µs: %{y} samples<extra></extra>"))
    figure.update_layout(**_layout(), barmode="overlay",
                         xaxis={"title": "latency (µs)"}, yaxis={"title": "samples"})
    return figure


# --- bars ------------------------------------------------------------------------------------

def _cold_start(entry: dict) -> float | None:
    cold = entry.get("cold_start_ms")
    return cold.get("median") if isinstance(cold, dict) else None


def _memory_mb(entry: dict) -> float | None:
    value = entry.get("idle_memory_bytes")
    return value / 1e6 if isinstance(value, (int, float)) else None


def _memory_title(runs: Sequence[_Run]) -> str:
    """The idle memory chart's title, with when it was read if every run says so and agrees
    (results saved before labctl recorded it took the engine's next stats sample)."""
    after = {(run.document.get("parameters") or {}).get("idle_memory_after_s") for run in runs}
    when = after.pop() if len(after) == 1 else None
    return ("Idle memory" + (f", {when:g} s after the first 200 on /health" if when else "")
            + " (page cache excluded)")


def _image_mb(entry: dict) -> float | None:
    value = (entry.get("build") or {}).get("size_bytes")
    return value / 1e6 if isinstance(value, (int, float)) else None


def _load_rps(entry: dict) -> float | None:
    value = (entry.get("load") or {}).get("requests_per_s")
    return value if isinstance(value, (int, float)) else None


_BAR_METRICS = (
    ("Cold start: start request to first 200 on /health (median)", "ms", _cold_start),
    ("Idle memory (page cache excluded)", "MB", _memory_mb),
    ("Image or build size", "MB", _image_mb),
)


def _bar_figure(go, runs: Sequence[_Run], title: str, unit: str, value_of):
    figure = go.Figure()
    for run_index, run in enumerate(runs):
        names = [n for n in run.servers if value_of(run.servers[n]) is not None]
        if not names:
            continue
        values = [value_of(run.servers[n]) for n in names]
        figure.add_trace(go.Bar(
            x=[_server_title(run.servers[n], n) for n in names], y=values,
            name=f"run {run.letter}" if run.side_by_side else title,
            marker={"color": [_colour(n, i) for i, n in enumerate(names)],
                    "pattern": {"shape": ["", "/", ".", "x"][run_index % 4]}},
            text=[_short_number(v) for v in values], textposition="outside",
            hovertemplate="%{x}: %{y:,.1f} " + unit + "<extra></extra>"))
    if not figure.data:
        return None
    figure.update_layout(**_layout(height=300), barmode="group", showlegend=len(runs) > 1,
                         yaxis={"title": unit})
    return figure


def _short_number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _load_caption(runs: Sequence[_Run]) -> str:
    for run in runs:
        for entry in run.servers.values():
            load = entry.get("load")
            if load:
                loop = "closed loop" if load.get("loop") == "closed" else "open loop"
                keep = "kept-alive" if load.get("keepalive", True) else "new connection per request"
                return (f"Load: requests per second ({loop}, {load.get('connections')} "
                        f"{keep} connections, {load.get('duration_s')} s on "
                        f"{load.get('path', '/health')}, {_generator(load)})")
    return "Load: requests per second"


def _generator(load: dict) -> str:
    generator = load.get("generator") or {}
    return f"{generator.get('name', '?')} ({generator.get('where', '?')})"


def _layout(height: int = 420) -> dict:
    return {"height": height, "margin": {"l": 70, "r": 20, "t": 20, "b": 60},
            "template": "plotly_white", "legend": {"orientation": "h", "y": -0.2},
            "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 13}}


# --- the page --------------------------------------------------------------------------------

def _page(runs: Sequence[_Run], charts, plotly_js: str) -> str:
    sections: dict[str, list[str]] = {}
    for index, (section, caption, figure) in enumerate(charts):
        sections.setdefault(section, []).append(_chart_html(index, caption, figure))
    title = "labctl report: " + ", ".join(run.id for run in runs)
    parts = [f"<h1>{html.escape(_heading(runs))}</h1>"]
    for run in runs:
        parts.append(_run_section(run))
    for key, heading, intro in _SECTIONS:
        if key in sections:
            parts.append(f'<section class="charts {key}"><h2>{heading}</h2><p>{intro}</p>'
                         + "".join(sections[key]) + "</section>")
    return _html_page(title, parts, plotly_js)


def _chart_html(index: int, caption: str, figure) -> str:
    div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{index}",
                         config={"displaylogo": False, "responsive": True})
    return (f'<figure class="chart" data-chart="{index}"><figcaption>{html.escape(caption)}'
            f"</figcaption>{div}</figure>")


def _html_page(title: str, parts: list[str], plotly_js: str) -> str:
    parts = [*parts, '<footer>Drawn by labctl from saved results; figures are exactly those '
             "stored. Plots: plotly, inlined — this page needs no network.</footer>"]
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
            f"<script>{plotly_js}</script></head><body><main>"
            + "".join(parts) + "</main></body></html>")


_SECTIONS = (
    ("latency", "Latency as a distribution",
     "Each line is every kept sample of one server, sorted: read across to see the median, up "
     "the right-hand side to see the tail. Lower is better; a line that turns up early has a "
     "heavy tail. Both axes are logarithmic."),
    ("histograms", "Histograms", "How the samples of each server spread, per path and "
     "connection mode."),
    ("resources", "Start-up and footprint", "Measured once per server under the limits above."),
    ("load", "Load", "Throughput with many connections at once."),
)


def _heading(runs: Sequence[_Run]) -> str:
    if len(runs) == 1:
        return f"labctl compare — {_when(runs[0])}"
    return f"labctl compare — {len(runs)} runs side by side"


def _when(run: _Run) -> str:
    created = run.document.get("created")
    try:
        moment = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        return moment.strftime("%a %d %b %Y, %H:%M UTC")
    except ValueError:
        return str(created or "time unknown")


def _run_section(run: _Run) -> str:
    document = run.document
    return (f'<section class="run"><h2>Run {run.letter}: <code>{html.escape(run.id)}</code></h2>'
            f"<p class=\"when\">{html.escape(_when(run))}</p>"
            + _conditions(document) + _comparison_table(run) + _reading(document) + "</section>")


def _conditions(document: dict) -> str:
    runtime = document.get("runtime") or {}
    limits = document.get("limits") or {}
    host = document.get("host") or {}
    parameters = document.get("parameters") or {}
    memory = limits.get("memory_mb")
    rows = [
        ("runtime", _runtime_words(runtime)),
        ("limits per server", f"{limits.get('cpus', '?')} core(s)"
         + (f" pinned to CPU {limits['cpuset']}" if limits.get("cpuset") else "")
         + (f", {memory} MB" if memory else ", no memory limit")),
        ("host", f"{host.get('cpu', '?')}, {host.get('cores', '?')} cores "
                 f"({host.get('cores_usable', '?')} usable), {host.get('os', '?')}"),
        ("probe", f"libcurl {host.get('libcurl', '?')} in-process, "
                  f"{parameters.get('samples', '?')} samples per series after "
                  f"{parameters.get('warmup_discarded', '?')} discarded, servers taking turns in "
                  f"blocks of {parameters.get('block', '?')}"),
        ("versions", f"labctl {host.get('labctl_version', '?')}, servers at "
                     f"{host.get('source_revision', '?')}"),
    ]
    paths = {(entry.get("path") or {}).get("description") for entry in
             (document.get("servers") or {}).values()}
    paths.discard(None)
    if paths:
        rows.insert(1, ("measured over", "; ".join(sorted(str(p) for p in paths))))
    return '<table class="conditions">' + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    ) + "</table>"


def _runtime_words(runtime: dict) -> str:
    name = runtime.get("runtime", "?")
    if name == "docker":
        return f"Docker engine {runtime.get('engine_version', '?')} ({runtime.get('os', '?')})"
    return f"{name}: native processes"


def _comparison_table(run: _Run) -> str:
    keys = _series_keys([run])
    ratios = (run.document.get("analysis") or {}).get("ratios") or {}
    head = "".join(f"<th>GET {html.escape(p)}<br><small>{MODE_WORDS.get(m, m)}, p50</small></th>"
                   for p, m in keys)
    head += "<th>cold start</th><th>idle memory</th><th>image</th>"
    has_load = any(entry.get("load") for entry in run.servers.values())
    if has_load:
        head += "<th>load req/s</th><th>load p99</th>"
    # Servers whose medians are within the run's noise of each other get no ranking badge.
    tied = {(t.get("path"), t.get("mode")): set(t.get("servers") or ())
            for t in (run.document.get("analysis") or {}).get("ties") or []}
    rows: list[str] = []
    for name, entry in run.servers.items():
        cells = [f'<th><span class="dot" style="background:{_colour(name, len(rows))}"></span>'
                 f"{html.escape(_server_title(entry, name))}"
                 f"<br><small>{html.escape(str(entry.get('framework_version', '')))}</small></th>"]
        if not entry.get("measured", True):
            cells.append(f'<td colspan="{len(keys)}" class="fail">failed verification: '
                         "not measured</td>")
        else:
            for path, mode in keys:
                series = run.series(name, path, mode) or {}
                p50 = (series.get("summary") or {}).get("p50")
                ratio = ((ratios.get(f"{path} {mode}") or {}).get("p50_ratio") or {}).get(name)
                cells.append(_latency_cell(p50, ratio, tied=name in tied.get((path, mode), ())))
        cold = _cold_start(entry)
        memory, image = _memory_mb(entry), _image_mb(entry)
        cells.append(f"<td>{_fmt(cold, 'ms')}</td><td>{_fmt(memory, 'MB')}</td>"
                     f"<td>{_fmt(image, 'MB')}</td>")
        if has_load:
            load = entry.get("load") or {}
            p99 = (load.get("latency_us") or {}).get("p99")
            cells.append(f"<td>{_fmt(load.get('requests_per_s'), '')}</td>"
                         f"<td>{_fmt(p99 / 1000 if p99 else None, 'ms')}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="comparison"><thead><tr><th>server</th>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _latency_cell(p50: float | None, ratio: float | None, *, tied: bool = False) -> str:
    if p50 is None:
        return "<td>–</td>"
    if tied:
        badge = "within noise"
    else:
        badge = "best" if ratio is not None and math.isclose(ratio, 1.0) else (
            f"{ratio:.1f}×" if ratio is not None else "")
    return f'<td>{p50:,.0f} µs <small class="ratio">{badge}</small></td>'


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    number = f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    return f"{number} {unit}".strip()


def _reading(document: dict) -> str:
    analysis = document.get("analysis") or {}
    sentences = analysis.get("reading") or []
    ties = analysis.get("ties") or []
    items = [f"<li>{html.escape(str(s))}</li>" for s in sentences]
    for tie in ties:
        items.append(f"<li class=\"tie\">within noise on GET {html.escape(str(tie.get('path')))} "
                     f"({html.escape(MODE_WORDS.get(tie.get('mode'), str(tie.get('mode'))))}): "
                     f"{html.escape(', '.join(tie.get('servers') or []))}</li>")
    if not items:
        return ""
    return '<div class="reading"><h3>Reading</h3><ul>' + "".join(items) + "</ul></div>"


_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 8px 0 16px; }
h2 { font-size: 19px; margin: 28px 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 16px 20px; margin-bottom: 20px; }
.when, section > p, footer, small { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
table.comparison td { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.conditions th { width: 160px; color: var(--muted); font-weight: 500; }
.ratio { margin-left: 4px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
.fail { color: #b00020; }
.reading ul { margin: 4px 0; padding-left: 20px; }
.tie { color: var(--muted); }
figure.chart { margin: 16px 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
section.resources figure.chart { display: inline-block; width: 32%; min-width: 280px;
                                  vertical-align: top; margin-right: 1%; }
footer { font-size: 13px; padding: 8px 4px 32px; }
"""


def chart_count(page: str) -> int:
    """How many charts a page holds (what a browser test expects to see rendered)."""
    return page.count('<figure class="chart"')


__all__ = ["MissingExtra", "ReportError", "build_report", "chart_count", "spectrum_points", "EXTRA_HINT"]

