"""The curl a learner types: one ``curl`` process per request, timed by curl's own ``-w``.

labctl's figures come from libcurl called in a process that is already warm (probe.py). A learner
checks them with ``curl -w '%{time_total}'`` in a shell, and every such call is a new process
whose first (and only) request pays that process's cold start: code paths run for the first
time, page faults, the socket layer's first use. This module measures that reference series with
the real ``curl`` binary, on the probe's CPUs, and takes the gap to labctl's new-connection
figure apart phase by phase, so the two numbers can be read side by side instead of one being
taken for wrong.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

from labctl.measure import stats
from labctl.measure.probe import Sample
from labctl.measure.sampling import Series

LABEL = "curl, one process per request"
SAMPLES = 20
WARMUP = 3
# curl's own phase timings, in seconds with microsecond digits; the status first, so an answer
# that is not 2xx is counted as such.
WRITE_OUT = "%{http_code} %{time_connect} %{time_starttransfer} %{time_total}\\n"
TIMEOUT_S = 5
# Phases of one request: (name, the median of its own duration in a series' phases_p50).
PHASES = (("connect", "connect_us"),
          ("connect to first byte", "connect_to_first_byte_us"),
          ("first byte to end", "first_byte_to_end_us"))


def arguments(url: str, binary: str = "curl") -> list[str]:
    """The exact command run for one sample: ``-q`` first, so no ~/.curlrc changes it, and no
    proxy from the environment in the path. The URL is fetched twice, each on a new connection
    (``Connection: close``): the first request is the one a shell loop of curl times, the second
    the same process's next new connection, with its code already warm."""
    return [binary, "-q", "-s", "--noproxy", "*", "--max-time", str(TIMEOUT_S),
            "-H", "Connection: close", "-w", WRITE_OUT,
            "-o", "/dev/null", url, "-o", "/dev/null", url]


def command_line(url: str) -> str:
    """The command as a person would paste it (``curl`` from the PATH)."""
    return " ".join(shlex.quote(arg) for arg in arguments(url))


def find_curl() -> tuple[str | None, str | None]:
    """The curl binary on the PATH and its version line ("curl 7.88.1"), or None and why not."""
    binary = shutil.which("curl")
    if binary is None:
        return None, None
    try:
        answer = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    first = (answer.stdout.splitlines() or [""])[0].split()
    return binary, " ".join(first[:2]) if first else "curl"


def parse_write_out(text: str) -> Sample:
    """``200 0.000150 0.000326 0.000349`` → a Sample in microseconds."""
    status, connect, first_byte, total = text.split()
    return Sample(status=int(status), connect_us=float(connect) * 1e6,
                  ttfb_us=float(first_byte) * 1e6, total_us=float(total) * 1e6)


def one_process(binary: str, url: str) -> tuple[Sample, Sample]:
    """Start one curl process: its first request and its second (a new connection too);
    ValueError with curl's reason when it fails."""
    try:
        done = subprocess.run(arguments(url, binary), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=2 * TIMEOUT_S + 5)
    except subprocess.TimeoutExpired:
        raise ValueError(f"curl did not finish within {2 * TIMEOUT_S + 5} s") from None
    if done.returncode != 0:
        raise ValueError(f"curl exited with status {done.returncode} "
                         f"{done.stderr.strip()[:200]}".strip())
    lines = done.stdout.strip().splitlines()
    try:
        first, second = (parse_write_out(line) for line in lines)
    except ValueError:
        raise ValueError(f"curl printed {done.stdout.strip()[:80]!r}, not its timings") from None
    return first, second


@dataclass
class OneShotRun:
    """The curl series of several targets, or why there are none."""

    version: str | None = None
    why_not: str | None = None
    series: dict[str, dict[str, Series]] = field(default_factory=dict)   # name → path → series
    second: dict[str, dict[str, Series]] = field(default_factory=dict)   # the second requests

    def as_dict(self, samples: int, warmup: int) -> dict:
        """The series in their JSON form under ``servers`` (name → path → series of the first
        requests) and ``second_request`` (the same of the second), with what every document
        says about them as a whole."""
        def json_form(found: dict[str, dict[str, Series]]) -> dict:
            return {name: {path: series.as_dict() for path, series in by_path.items()}
                    for name, by_path in found.items()}
        return {"client": LABEL, "measured": self.why_not is None, "why_not": self.why_not,
                "curl": self.version, "samples": samples, "warmup_discarded": warmup,
                "command": command_line("URL"), "servers": json_form(self.series),
                "second_request": json_form(self.second)}


@dataclass
class Plan:
    """A request for the curl series, handed to a client's ``measure``, which takes it between
    its own rounds and fills in ``result`` (``OneShotRun.as_dict`` plus ``where`` and ``cpus``).
    """

    samples: int = SAMPLES
    warmup: int = WARMUP
    result: dict | None = None

    @classmethod
    def beside(cls, probe_samples: int) -> Plan:
        """The curl series to take beside a probe series of ``probe_samples``: SAMPLES, or
        fewer when the learner asked for fewer (--samples 10 is a quick look, and each curl
        request is a process of its own)."""
        return cls(samples=min(SAMPLES, probe_samples))


class Interleaved:
    """The curl series spread over another series' rounds, so that drift on a shared machine
    (a neighbour's build, a frequency change) hits both alike, as measure.measure does for the
    servers. Call ``after_round`` from that series' ``on_round``, then ``finish``.

    Runs on whatever CPUs this process is pinned to (children inherit the affinity), so the
    caller pins it as it pins the probe. A series whose requests keep failing stops early: its
    errors are in the series, and whatever succeeded still counts.
    """

    def __init__(self, targets: dict[str, str], paths: tuple[str, ...], *,
                 samples: int = SAMPLES, warmup: int = WARMUP,
                 where: str = "on this machine's PATH") -> None:
        self.targets, self.paths = targets, paths
        self.samples, self.warmup = samples, warmup
        self.binary, version = find_curl()
        self.run = OneShotRun(version=version,
                              why_not=None if self.binary else f"no curl program {where}",
                              series={name: {path: Series() for path in paths}
                                      for name in targets} if self.binary else {},
                              second={name: {path: Series() for path in paths}
                                      for name in targets} if self.binary else {})
        self._taken = 0    # rounds of the curl series taken so far, warm-up included

    def after_round(self, done: int, total: int) -> None:
        """Catch up to the share of the curl series due after ``done`` of ``total`` rounds."""
        due = -(-done * (self.warmup + self.samples) // max(total, 1))
        while self._taken < min(due, self.warmup + self.samples):
            self._round()

    def finish(self) -> OneShotRun:
        self.after_round(1, 1)
        return self.run

    def _round(self) -> None:
        keep = self._taken >= self.warmup
        self._taken += 1
        if self.binary is None:
            return
        for path in self.paths:
            for name, url in self.targets.items():
                series = self.run.series[name][path]
                if len(series.errors) > max(3, self.samples // 4):
                    continue
                try:
                    first, second = one_process(self.binary, url + path)
                except ValueError as exc:
                    series.errors.append(str(exc))
                    continue
                if keep:
                    series.samples.append(first)
                    self.run.second[name][path].samples.append(second)


def measure(targets: dict[str, str], paths: tuple[str, ...], *, samples: int = SAMPLES,
            warmup: int = WARMUP, where: str = "on this machine's PATH") -> OneShotRun:
    """The curl series on its own: ``samples`` processes per target and path after ``warmup``
    discarded, targets taking turns."""
    return Interleaved(targets, paths, samples=samples, warmup=warmup, where=where).finish()


# -- the gap to labctl's new-connection figure ---------------------------------------------


def gap(one_shot: dict | None, fresh: dict | None, path: str,
        second: dict | None = None) -> dict | None:
    """How much of the one-shot median is the server and how much curl's own cold start.

    The series are in their JSON form; ``second`` is the same curl processes' second requests.
    Each phase is the median of that phase's own duration in each series, so no phase is ever
    negative; the phases' differences add up only roughly to the difference of the two
    totals' medians, which is the headline.
    """
    if not one_shot or not fresh or not one_shot.get("summary") or not fresh.get("summary"):
        return None
    phases_out = []
    for name, key in PHASES:
        one = (one_shot.get("phases_p50") or {}).get(key)
        new = (fresh.get("phases_p50") or {}).get(key)
        if one is None or new is None:
            continue
        phases_out.append({"phase": name, "one_shot_us": round(one, 1),
                           "new_connection_us": round(new, 1), "extra_us": round(one - new, 1)})
    one_p50, new_p50 = one_shot["summary"]["p50"], fresh["summary"]["p50"]
    return {"path": path, "one_shot_p50_us": one_p50, "new_connection_p50_us": new_p50,
            "client_cold_start_us": round(one_p50 - new_p50, 1),
            "ratio": round(stats.ratio(one_p50, new_p50), 2) if new_p50 else None,
            "second_request_p50_us": ((second or {}).get("summary") or {}).get("p50"),
            "phases": phases_out}


def reading(found: dict) -> list[str]:
    """The gap in sentences, naming both figures."""
    one, new = found["one_shot_p50_us"], found["new_connection_p50_us"]
    extra = found["client_cold_start_us"]
    path = found["path"]
    if extra <= 0:
        return [f"On GET {path}, one curl process per request took {one:.0f} µs at the median, "
                f"no more than labctl's new connection ({new:.0f} µs) on this run: the machine's "
                "noise outweighed curl's cold start. Run again before reading anything into it."]
    sentences = [
        f"On GET {path}, one curl process per request took {one:.0f} µs at the median, labctl's "
        f"new connection {new:.0f} µs: about {new:.0f} µs of the one-shot figure is the server "
        f"and the network (what a new connection costs from a warm client), the other "
        f"{extra:.0f} µs is the curl process's own cold start.",
    ]
    again = found.get("second_request_p50_us")
    if again is not None:
        sentences.append(
            f"The same curl processes' second request, on a new connection too, took {again:.0f} "
            "µs at the median, " + (
                f"against {one:.0f} µs for their first and {new:.0f} µs from labctl: the first "
                "request's extra belongs to the new process, not to curl's code or the server."
                if again < one else
                f"no faster than their first ({one:.0f} µs) on this run: the machine's noise "
                "hides the cold start. Run again before reading anything into it."))
    if found["phases"]:
        steps = "; ".join(
            f"{p['phase']} {p['one_shot_us']:.0f} µs against {p['new_connection_us']:.0f} µs"
            for p in found["phases"])
        biggest = max(found["phases"], key=lambda p: p["extra_us"])
        sentences.append(
            f"Phase by phase (median durations, curl one-shot against labctl's new connection): "
            f"{steps}. Most of the extra is in {biggest['phase']} "
            f"({biggest['extra_us']:+.0f} µs): a new process runs curl's and the kernel's code "
            "paths cold on its first request, which is why benchmarks warm up and discard their "
            "first requests.")
    return sentences


def expectation(found: dict | None, why_not: str | None) -> str:
    """What the learner should expect from the reproduce-by-hand command."""
    if found is None:
        return ("no one-shot curl series to compare it with"
                + (f" ({why_not})" if why_not else ""))
    one, new = found["one_shot_p50_us"], found["new_connection_p50_us"]
    if one <= new:    # the noise hid the cold start: say what was measured, claim nothing
        return (f"expect about {one:.0f} µs (the one-shot curl median just measured; on this "
                f"run no higher than labctl's new connection, {new:.0f} µs)")
    return (f"expect about {one:.0f} µs (the one-shot curl median just measured), not the "
            f"{new:.0f} µs of a new connection from labctl: a new curl process pays its own "
            "cold start")
