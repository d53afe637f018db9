"""Exports of a result: CSV rows for spreadsheets, SVG/HTML pictures of the terminal view."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from labctl.errors import EnvironmentProblem, UsageProblem
from labctl.ui import THEME

CSV_LATENCY_FIELDS = ["server", "path", "connection", "samples", "errors", "non_2xx",
                      "min_us", "p50_us", "p90_us", "p99_us", "max_us"]


def latency_rows(server: str, latency: dict) -> list[dict]:
    rows = []
    for path, by_mode in latency.items():
        for mode, series in by_mode.items():
            summary = series.get("summary") or {}
            rows.append({
                "server": server, "path": path, "connection": mode,
                "samples": series["samples"], "errors": series["errors"],
                "non_2xx": series["non_2xx"],
                **{f"{k}_us": summary.get(k) for k in ("min", "p50", "p90", "p99", "max")},
            })
    return rows


def compare_csv(document: dict) -> str:
    """One row per server, path and connection mode, with the server's other figures repeated."""
    extra = ["cold_start_ms", "idle_memory_bytes", "size_bytes", "verification", "runtime"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_LATENCY_FIELDS + extra, lineterminator="\n")
    writer.writeheader()
    for name, entry in document["servers"].items():
        common = {
            "cold_start_ms": entry["cold_start_ms"]["median"],
            "idle_memory_bytes": entry.get("idle_memory_bytes"),
            "size_bytes": entry["build"].get("size_bytes"),
            "verification": entry["verification"]["status"],
            "runtime": document["runtime"]["runtime"],
        }
        rows = latency_rows(name, entry.get("latency") or {}) or [{"server": name}]
        for row in rows:
            writer.writerow({**row, **common})
    return buffer.getvalue()


LOAD_CSV_COLUMNS = ("server", "runtime", "path", "generator", "generator_where", "loop", "rate",
                    "keepalive", "connections", "threads", "duration_s", "server_cpus",
                    "client_cpus", "requests", "requests_per_s", "p50_us", "p90_us", "p99_us",
                    "max_us", "errors_connect", "errors_read", "errors_write", "errors_timeout",
                    "non_2xx", "flagged", "reasons")


def load_csv_row(document: Mapping[str, Any]) -> dict:
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
        "server_cpus": document["cpus"]["server"] or "",
        "client_cpus": document["cpus"]["client"] or "",
        "requests": load["requests"], "requests_per_s": load["requests_per_s"],
        "p50_us": _blank(latency.get("p50")), "p90_us": _blank(latency.get("p90")),
        "p99_us": _blank(latency.get("p99")), "max_us": _blank(latency.get("max")),
        **{f"errors_{kind}": load["errors"][kind]
           for kind in ("connect", "read", "write", "timeout")},
        "non_2xx": load["non_2xx"], "flagged": "yes" if load["flagged"] else "no",
        "reasons": "; ".join(load["reasons"]),
    }


def _blank(value):
    return "" if value is None else value


def load_csv(document: Mapping[str, Any]) -> str:
    """One header and one row: a load run (``labctl.load/1``)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOAD_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(load_csv_row(document))
    return buffer.getvalue()


# Schema prefix → CSV writer, as render.RENDERERS for the terminal view.
CSV_WRITERS = {"labctl.compare/": compare_csv, "labctl.load/": load_csv}


def csv_for(document: dict) -> str | None:
    """``document`` as CSV text, or None for a schema that has no CSV form."""
    schema = str(document.get("schema", ""))
    for prefix, write in CSV_WRITERS.items():
        if schema.startswith(prefix):
            return write(document)
    return None


def save_picture(renderable, path: Path, *, title: str, width: int = 110) -> None:
    """Render to a recording console and save as SVG or HTML, chosen by the file's suffix."""
    console = Console(record=True, width=width, file=io.StringIO(), theme=THEME,
                      force_terminal=True, color_system="truecolor")
    console.print(renderable)
    suffix = path.suffix.lower()
    try:
        if suffix == ".svg":
            console.save_svg(str(path), title=title)
        elif suffix in (".html", ".htm"):
            console.save_html(str(path))
        else:
            raise UsageProblem(f"cannot tell the picture format of {path}",
                               "Name the file .svg or .html")
    except OSError as exc:
        raise EnvironmentProblem(f"could not write {path}: {exc.strerror}",
                                 "Check the folder exists and is writable") from None
