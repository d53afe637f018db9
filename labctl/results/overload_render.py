"""The overload lab's document on the terminal: per server, goodput and p99 against offered load,
shedding off and on side by side, in 80 columns; then where the queue was and where the queueing
model's prediction missed."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from labctl.results.lab_render import _Lines, _saved, _your_predictions

BAR_WIDTH = 8
BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``fraction`` (0..1, clipped) in eighths of a character."""
    if fraction is None:
        return " " * width
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


def _goodput(step: dict | None) -> Text:
    if step is None:
        return Text("–")
    fraction = step["goodput_fraction"]
    style = "fail" if fraction is not None and fraction < 0.5 else "figure"
    text = Text(bar(fraction), style=style)
    text.append(f" {fraction:>4.0%}" if fraction is not None else "    –")
    return text


def _p99(step: dict | None, timeout_ms: float) -> Text:
    if step is None or step["p99_ms"] is None:
        return Text("–")
    p99 = step["p99_ms"]
    text = Text(f"{p99:,.0f} ms", style="fail" if p99 >= timeout_ms / 2 else "")
    if step["generator_limited"]:
        text.append(" g", style="warn")
    elif step["prediction_misses"]:
        text.append(" *", style="warn")
    return text


def _queue(step: dict) -> str:
    queue = step.get("kernel_queue")
    if not queue:
        return "not measured"
    return (f"at most {queue['unread_requests_max']:,} requests unread in socket buffers, "
            f"{queue['accept_queue_max']:,} unaccepted")


def overload(document: dict) -> Group:
    out = _Lines()
    params = document["parameters"]
    timeout_ms = params["timeout_s"] * 1000
    out.print(Text.assemble(
        ("The overload lab", "label"),
        f" — GET {params['path']} (CPU-bound). Capacity: closed loop (wrk, "
        f"{params['capacity_connections']} connections, {params['capacity_s']:g} s). Then an "
        f"open loop (oha, latency counted from when each request was due) at fractions of it, "
        f"{params['step_s']:g} s each, client timeout {params['timeout_s']:g} s; shedding off, "
        f"then on ({params['shed_env']}=on). Goodput: 2xx answers within the timeout, per "
        "second, as a share of the capacity. p99: of the 2xx answers."))
    for name, entry in document["servers"].items():
        capacity = entry["capacity"]["requests_per_s"]
        out.print()
        out.print(Text.assemble(
            (f"{name}", "label"), f"  capacity {capacity:,.0f} req/s on "
            f"{_cores(document)} (one request ≈ {entry['service_ms'] or 0:.2f} ms of CPU)"))
        at_default = entry.get("capacity_at_default_items")
        if at_default:
            out.print(Text(
                f"  {at_default['requests_per_s']:,.0f} req/s at the default "
                f"{at_default['items']} items, outside {_band(params)};\n"
                f"  so the lab asks for {entry['capacity']['path']}", style="muted"))
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column, justify in (("offered", "right"), ("×", "right"), ("goodput off", "left"),
                                ("p99 off", "right"), ("goodput on", "left"),
                                ("p99 on", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        off = {s["fraction"]: s for s in entry["runs"].get("off", {}).get("steps", [])}
        on = {s["fraction"]: s for s in entry["runs"].get("on", {}).get("steps", [])}
        for fraction in sorted(set(off) | set(on)):
            either = off.get(fraction) or on[fraction]
            table.add_row(f"{either['offered_rps']:,.0f}/s", f"{fraction:g}",
                          _goodput(off.get(fraction)), _p99(off.get(fraction), timeout_ms),
                          _goodput(on.get(fraction)), _p99(on.get(fraction), timeout_ms))
        out.print(table)
        for run_name, top in entry["top_step"].items():
            step = entry["runs"][run_name]["steps"][-1]
            verdict_style = {"collapsed": "fail", "timing out": "fail",
                             "bounded": "pass"}.get(top["verdict"], "warn")
            out.print(Text.assemble(
                f"  {top['fraction']:g}×, shedding {run_name}: ",
                (top["verdict"], verdict_style),
                f" — {step['ok_2xx']:,} 2xx, {step['shed_503']:,} 503, "
                f"{step['timeouts']:,} timeouts, {step['errors']:,} errors"))
            out.print(Text(f"    kernel: {_queue(step)}", style="muted"))
            if top["generator_limited"]:
                out.print(Text(f"    oha sent {step['sent']:,} of {step['scheduled']:,} "
                               "requests: the generator, not the server, was the limit; this "
                               "step is not judged", style="warn"))
    out.print(Text("g: the generator could not send at the rate asked (not judged); * differs "
                   "from the queueing model's prediction (goodput within ±"
                   f"{params['goodput_tolerance']:.0%} of capacity, p99 on the same side of "
                   f"{timeout_ms * params['bounded_p99']:g} and {timeout_ms / 2:g} ms).",
                   style="muted"))
    missed = [(name, run_name, step) for name, entry in document["servers"].items()
              for run_name, run in entry["runs"].items() for step in run["steps"]
              if step["prediction_misses"]]
    out.print(Text.assemble(("Predictions the measurement contradicted: ", "label"),
                            str(len(missed))))
    for name, run_name, step in missed:
        out.print(Text(f"  {name}, shedding {run_name}, {step['fraction']:g}× "
                       f"({step['predicted']['verdict']}): " + "; ".join(step["prediction_misses"]),
                       style="warn"))
    _your_predictions(out, document)
    _saved(out, document)
    return Group(*out)


def _band(params: dict) -> str:
    low, high = params.get("calibration_band_rps") or (0, 0)
    return f"{low:,.0f}–{high:,.0f} req/s"


def _cores(document: dict) -> str:
    limits = document.get("limits") or {}
    cpus = limits.get("cpus")
    where = f" (CPU {limits['cpuset']})" if limits.get("cpuset") else ""
    return f"{cpus:g} core{'' if cpus == 1 else 's'}{where}" if cpus else "its cores"
