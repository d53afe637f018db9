"""wrk: its arguments, and the figures in its output (labctl's report.lua line, or wrk's text).

wrk's figures come from a small Lua script (labctl/docker/wrk/report.lua) that prints wrk's own
counters and histogram percentiles as one JSON line; wrk's human-readable text is parsed only
when that line is missing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from labctl import paths
from labctl.errors import LabctlError
from labctl.measure.loadgen.options import LoadOptions, LoadResult

WRK_IMAGE_TAG = "labctl/wrk:latest"
WRK_CONTEXT = paths.docker_context("wrk")
WRK_SCRIPT = WRK_CONTEXT / "report.lua"
WRK_SCRIPT_IN_IMAGE = "/etc/labctl/report.lua"
WRK_VERSION_IN_IMAGE = "/etc/labctl/wrk-version"
RESULT_PREFIX = "LABCTL-WRK-RESULT "
VERSION_PREFIX = "LABCTL-WRK-VERSION "
WRK_PERCENTILES = ("wrk's own latency histogram (HdrHistogram, 3 significant digits); each "
                   "request timed from when wrk sent it to its complete response (closed loop: "
                   "time waiting to send is not counted)")
WRK_NON_2XX = "responses with status 400 or above (wrk's count; wrk treats 3xx as success)"


def parse_wrk_report(stdout: str) -> dict[str, float] | None:
    """The figures from report.lua's ``LABCTL-WRK-RESULT {...}`` line, or None without one."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith(RESULT_PREFIX):
            try:
                data = json.loads(line[len(RESULT_PREFIX):])
            except ValueError:
                return None
            return {key: float(value) for key, value in data.items()}
    return None


_TIME_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
_BYTES_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _wrk_time_us(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(match.group(1)) * _TIME_UNITS_US[match.group(2)]


def parse_wrk_text(stdout: str) -> dict[str, float] | None:
    """The same figures as ``parse_wrk_report`` from wrk's human-readable output (run with
    ``--latency``), for a wrk that ran without labctl's script. None when it has no summary.

    wrk prints times rounded to 2 decimals in the unit it picks ("1.23ms"), so these figures are
    coarser than the script's.
    """
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read",
                     stdout, re.MULTILINE)
    if not done:
        return None
    figures: dict[str, float] = {
        "requests": float(done.group(1)),
        "duration_us": float(done.group(2)) * _TIME_UNITS_US[done.group(3)],
        "bytes": float(done.group(4)) * _BYTES_UNITS[done.group(5)],
        "errors_connect": 0.0, "errors_read": 0.0, "errors_write": 0.0,
        "errors_timeout": 0.0, "errors_status": 0.0,
    }
    stats = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%", stdout, re.MULTILINE)
    if stats:
        figures["mean_us"] = _wrk_time_us(stats.group(1))
        figures["stdev_us"] = _wrk_time_us(stats.group(2))
        figures["max_us"] = _wrk_time_us(stats.group(3))
    for pct, value in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", stdout, re.MULTILINE):
        figures[f"p{pct}_us"] = _wrk_time_us(value)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       stdout)
    if errors:
        for kind, value in zip(("connect", "read", "write", "timeout"), errors.groups()):
            figures[f"errors_{kind}"] = float(value)
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    if status:
        figures["errors_status"] = float(status.group(1))
    return figures


def parse_wrk_version(text: str) -> str | None:
    """``wrk debian/4.1.0-3+b2 [epoll] Copyright…`` → ``debian/4.1.0-3+b2 [epoll]``."""
    for line in text.splitlines():
        line = line.strip().removeprefix(VERSION_PREFIX)
        match = re.match(r"^wrk (\S+)(?: (\[\w+\]))?", line)
        if match:
            return " ".join(part for part in match.groups() if part)
    return None


def wrk_figures(stdout: str, stderr: str = "") -> tuple[dict[str, float], bool]:
    """wrk's figures from its output: (figures, from_script). LabctlError when it has none."""
    figures = parse_wrk_report(stdout)
    if figures is not None:
        return figures, True
    figures = parse_wrk_text(stdout)
    if figures is not None:
        return figures, False
    output = "\n".join(part for part in (stdout.strip(), stderr.strip()) if part)
    last = output.splitlines()[-1] if output else "it printed nothing"
    raise LabctlError(f"wrk produced no results ({last})", "Its output is below",
                      details=output or None)


def wrk_args(options: LoadOptions, threads: int, url: str, script: str) -> tuple[list[str], int]:
    """wrk's arguments for ``options`` against ``url`` (path included), and the whole seconds it
    will run: wrk takes durations in whole seconds only."""
    seconds = max(1, round(options.duration_s))
    timeout = max(1, math.ceil(options.timeout_s))
    args = [f"-t{threads}", f"-c{options.connections}", f"-d{seconds}s", "--timeout",
            f"{timeout}s", "--latency", "-s", script]
    if not options.keepalive:
        args += ["-H", "Connection: close"]
    return args + [url], seconds


def by_hand_command(options: LoadOptions, threads: int, url: str,
                    cpuset: str | None) -> list[str]:
    """The same wrk load typed in a shell on this machine (without labctl's script)."""
    args, _ = wrk_args(options, threads, url, "")
    args = [a for a in args if a not in ("-s", "")]
    pin = ["taskset", "-c", cpuset] if cpuset else []
    return [*pin, "wrk", *args]


def result_from_wrk(figures: dict[str, float], *, from_script: bool, **fields: Any) -> LoadResult:
    requests = int(figures.get("requests", 0))
    # wrk records no latency for a request that timed out: when every answer timed out, its
    # empty histogram reports 0 µs, which is not a latency anyone saw.
    histogram_empty = not figures.get("max_us")

    def latency(key: str) -> float | None:
        value = figures.get(key)
        return None if value is None or requests == 0 or histogram_empty else value

    notes = list(fields.pop("notes", []))
    if not from_script:
        notes.append("wrk's summary line was missing: figures parsed from wrk's text output "
                     "(rounded to 2 decimals); p99.9 and min are not available")
    return LoadResult(
        generator="wrk", requests=requests,
        duration_s=figures.get("duration_us", 0.0) / 1e6,
        latency_us={"p50": latency("p50_us"), "p90": latency("p90_us"), "p99": latency("p99_us"),
                    "max": latency("max_us"), "min": latency("min_us"),
                    "mean": latency("mean_us"), "stdev": latency("stdev_us"),
                    "p75": latency("p75_us"), "p999": latency("p999_us")},
        percentile_kind=WRK_PERCENTILES,
        errors={kind: int(figures.get(f"errors_{kind}", 0))
                for kind in ("connect", "read", "write", "timeout")},
        non_2xx=int(figures.get("errors_status", 0)), non_2xx_definition=WRK_NON_2XX,
        bytes_read=int(figures["bytes"]) if "bytes" in figures else None,
        notes=notes, **fields)
