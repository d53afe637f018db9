"""The bottleneck lab: the lesson's arithmetic next to a measurement, in each language.

The lesson's model: a request that waits ``d`` ms for a slow dependency lets one connection make
at most 1000/d requests per second. How many such waits can overlap depends on *how* the server
waits:

- a non-blocking wait (await, a parked goroutine) frees the server for other requests, so every
  connection progresses at once: connections × 1000/d;
- a blocking wait ties up whatever runs the handler: one event loop (Node, an ``async def``
  FastAPI handler) serves one request per d ms in all; tokio serves one per worker thread (one
  per core it may use); Go parks only the goroutine of that connection, so it behaves like a
  non-blocking wait.

With the load generator's connection count fixed (closed loop), Little's law gives the latency
each client sees: connections / throughput.

The predictions are computed here (pure functions); ``run_lab`` does the measuring.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from labctl.results import hostinfo
from labctl.results.documents import LabDocument, LabServer, LabStep, LoadPart, ServerTiming, server_facts
from labctl.runtime.base import Instance, Limits, Runtime
from labctl.runtime.cpus import parse_cpuset
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.bottleneck/1"
DELAY_MS = 50
AGGREGATE_SEQUENTIAL_MS = 10 + 20 + 50
AGGREGATE_PARALLEL_MS = 50
TOLERANCE = 0.20   # a prediction "agrees" when requests/s is within ±20% of it
# Above this share of the baseline throughput, the server's CPU, not the wait, sets the limit.
CPU_BOUND_SHARE = 0.8


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    path: str


STEPS = (
    Step("baseline", "no delay (baseline)", "/users/42"),
    Step("blocking", f"{DELAY_MS} ms blocking wait", f"/users/42?delay_ms={DELAY_MS}&mode=blocking"),
    Step("async", f"{DELAY_MS} ms non-blocking wait", f"/users/42?delay_ms={DELAY_MS}&mode=async"),
    Step("sequential", "3 calls one after another", "/aggregate?mode=sequential"),
    Step("parallel", "3 calls at once", "/aggregate?mode=parallel"),
)


@dataclass(frozen=True)
class Prediction:
    requests_per_s: float | None
    latency_ms: float | None
    formula: str
    why: str


def worker_threads(limits: Limits) -> int:
    """Cores the server may use, which is how many worker threads tokio starts."""
    if limits.cpuset:
        return max(1, min(len(parse_cpuset(limits.cpuset)), math.ceil(limits.cpus)))
    return max(1, math.ceil(limits.cpus))


def blocking_slots(server: Server, connections: int, limits: Limits) -> tuple[int, str]:
    """How many blocking waits can overlap, and the reason in words."""
    if server.blocking_unit == "connection":
        return connections, "each connection has its own goroutine; a blocked one holds up " \
                            "only its own connection"
    if server.blocking_unit == "worker-thread":
        threads = worker_threads(limits)
        return min(threads, connections), (
            f"a blocking sleep ties up a tokio worker thread; with {threads} worker "
            f"thread{'s' if threads != 1 else ''} that many requests progress at a time")
    return 1, "while one request sleeps, the event loop can do nothing else: one request at a " \
              "time, however many connections wait"


def predict(step: Step, server: Server, connections: int, limits: Limits,
            baseline_rps: float | None) -> Prediction:
    if step.key == "baseline":
        return Prediction(None, None, "no wait: the server's CPU sets the pace",
                          "the reference for the other steps")
    if step.key == "blocking":
        slots, why = blocking_slots(server, connections, limits)
        rps = slots * 1000 / DELAY_MS
        formula = f"{slots} × 1000 / {DELAY_MS}"
    elif step.key == "async":
        rps = connections * 1000 / DELAY_MS
        formula = f"{connections} connections × 1000 / {DELAY_MS}"
        why = "an awaited wait frees the server for other requests: every connection progresses"
    else:
        wait = AGGREGATE_SEQUENTIAL_MS if step.key == "sequential" else AGGREGATE_PARALLEL_MS
        rps = connections * 1000 / wait
        formula = f"{connections} × 1000 / {wait}"
        why = ("three calls one after another add up: 10 + 20 + 50 = 80 ms"
               if step.key == "sequential" else
               "three calls at once take as long as the slowest: 50 ms")
    if baseline_rps and rps > baseline_rps * CPU_BOUND_SHARE:
        return Prediction(baseline_rps, connections / baseline_rps * 1000,
                          f"min({formula}, baseline {baseline_rps:,.0f})",
                          why + "; but that is more than the server managed with no wait at all, "
                                "so its CPU is the limit")
    return Prediction(rps, connections / rps * 1000, formula, why)


def agreement(predicted: float | None, measured: float) -> tuple[float | None, bool | None]:
    if not predicted:
        return None, None
    gap = (measured - predicted) / predicted
    return gap, abs(gap) <= TOLERANCE


def gap_sentence(step: Step, prediction: Prediction, measured_rps: float, gap: float | None,
                 agrees: bool | None) -> str:
    if gap is None:
        return f"{measured_rps:,.0f} req/s with nothing slow in the way: {prediction.why}."
    verdict = ("agrees with the model" if agrees else
               f"is outside the ±{TOLERANCE:.0%} tolerance")
    sentence = (f"Predicted {prediction.requests_per_s:,.0f} req/s ({prediction.formula}), "
                f"measured {measured_rps:,.0f} ({gap:+.0%}): {verdict}; {prediction.why}.")
    if not agrees and gap < 0:
        sentence += (" Less than predicted: the server's own work per request, or the load "
                     "generator sharing the machine, adds to the wait the model counts.")
    elif not agrees:
        sentence += " More than predicted: the model's wait is longer than the server's real one."
    return sentence


SERVER_TIMING_RE = re.compile(r"\s*([\w-]+)\s*;[^,]*?dur=([\d.]+)")


def parse_server_timing(header: str | None) -> dict[str, float]:
    """``parse;dur=0.01, db;dur=50.2`` → {"parse": 0.01, "db": 50.2} (milliseconds)."""
    if not header:
        return {}
    return {name: float(duration) for name, duration in SERVER_TIMING_RE.findall(header)}


def sample_timing(url: str) -> ServerTiming:
    """One request alone, to read the server's own per-step timing."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        response = client.get(url)
    return {"status": response.status_code,
            "server_timing_ms": parse_server_timing(response.headers.get("server-timing")),
            "x_timing_ms": _float(response.headers.get("x-timing-ms"))}


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def run_lab(runtime: Runtime, chosen: list[Server], *, connections: int, duration_s: float,
            limits: Limits, run_step: Callable[[Runtime, Instance, str], LoadPart],
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> LabDocument:
    """Run every step on every server; ``run_step(runtime, instance, path)`` is the load test
    (a ``LoadResult.as_dict()``), injected so this module holds no load-generator wiring."""
    phase = on_phase or (lambda _text: None)
    results: dict[str, LabServer] = {}
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        phase(f"starting {server.title}")
        with running(runtime, server, limits) as instance:
            steps: list[LabStep] = []
            baseline_rps = None
            for step in STEPS:
                phase(f"{server.title}: {step.title} — {connections} connections for "
                      f"{duration_s:g} s")
                timing = sample_timing(instance.url + step.path)
                load = run_step(runtime, instance, step.path)
                measured = load["requests_per_s"]
                if step.key == "baseline":
                    baseline_rps = measured
                prediction = predict(step, server, connections, instance.limits, baseline_rps)
                gap, agrees = agreement(prediction.requests_per_s, measured)
                steps.append({
                    "step": step.key, "title": step.title, "path": step.path,
                    "prediction": {"requests_per_s": _round(prediction.requests_per_s),
                                   "latency_ms": _round(prediction.latency_ms),
                                   "formula": prediction.formula, "why": prediction.why},
                    "measured": {"requests_per_s": measured,
                                 "latency_p50_ms": _ms(load["latency_us"].get("p50")),
                                 "latency_p99_ms": _ms(load["latency_us"].get("p99")),
                                 "socket_errors": load["socket_errors"],
                                 "non_2xx": load["non_2xx"], "flagged": load["flagged"],
                                 "reasons": load["reasons"]},
                    "gap": None if gap is None else round(gap, 3),
                    "agrees": agrees,
                    "sentence": gap_sentence(step, prediction, measured, gap, agrees),
                    "server_timing": timing,
                    "load": load,
                })
            results[server.name] = {**server_facts(server), "blocking_unit": server.blocking_unit,
                                    "limits": instance.limits.as_dict(),
                                    "path": {"kind": instance.path_kind,
                                             "description": instance.path},
                                    "steps": steps}
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"connections": connections, "duration_s": duration_s,
                       "delay_ms": DELAY_MS, "tolerance": TOLERANCE, "loop": "closed",
                       "keepalive": True},
        "limits": limits.as_dict(),
        "servers": results,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 2)
