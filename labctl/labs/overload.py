"""The overload lab: what each server does when more work arrives than one core can do, with
its stack's load shedding off and on.

For each server: its capacity on ``GET /report`` (the CPU-bound endpoint) by a closed loop (wrk,
as fast as the server answers), then an open-loop sweep (oha, a fixed rate whatever the server
does) at fixed fractions of that capacity, every request with a client timeout. Per step:
offered and achieved rate, goodput (2xx answers, each within the timeout), 503s, timeouts,
errors, p50/p99 of the 2xx answers, and how many requests sat unread in the kernel (the
server's socket receive queues and its accept queue, sampled from /proc/PID/net/tcp when the
server's network namespace can be read from here). Then the same sweep with shedding on
(``LOAD_SHEDDING=on``, read by each server).

Next to each step, a prediction from a one-queue model (``predict``): the learner can write
theirs first (``--sheet``/``--predict``). A step whose generator could not send at the rate
asked is marked and not judged: the generator, not the server, was the limit.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from labctl.labs import LabPlugin
from labctl.measure import loadgen
from labctl.results import hostinfo
from labctl.results.documents import server_facts
from labctl.runtime.base import Instance, Limits, Runtime
from labctl.runtime.cpus import client_cpuset
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.overload/1"
SHED_ENV = "LOAD_SHEDDING"
RUNS: tuple[tuple[str, dict[str, str]], ...] = (("off", {}), ("on", {SHED_ENV: "on"}))
PATH = "/report"
FRACTIONS = (0.5, 0.8, 0.95, 1.1, 1.5, 2.0)
QUICK_FRACTIONS = (0.5, 2.0)
CAPACITY_CONNECTIONS = 10
MAX_CONNECTIONS = 4000       # oha's connections at most; Little's law asks for rate × timeout
GENERATOR_SHORTFALL = 0.05   # a step that sent >5 % fewer requests than scheduled: the client's
COLLAPSE_GOODPUT = 0.5       # below half the capacity as goodput: collapsed
BOUNDED_P99 = 0.25           # p99 of the 2xx answers under a quarter of the timeout: bounded
TIMING_OUT_SHARE = 0.05      # 1 in 20 requests sent or more timed out: timing out
GOODPUT_TOLERANCE = 0.2      # a goodput prediction holds within ±20 % of the capacity
SAMPLE_EVERY_S = 0.25
# The cost per request. Every server's /report does `items` steps (250 by default). The sweep
# needs a capacity the generator can drive to twice over from one core with a connection per
# request in flight (oha fell behind near 3,000 req/s with thousands of connections here), and
# one the server reaches without help from shortcuts: a server whose capacity at the default
# falls outside the band gets the items that bring it near the target, and the lab says so.
DEFAULT_ITEMS = 250
MIN_ITEMS, MAX_ITEMS = 10, 10000
TARGET_CAPACITY = 700.0
CALIBRATION_BAND = (400.0, 1200.0)
CALIBRATION_ROUNDS = 2
MIN_WAIT_BELOW_CAPACITY_S = 0.25


@dataclass(frozen=True)
class Settings:
    fractions: tuple[float, ...] = FRACTIONS
    step_s: float = 4.0
    capacity_s: float = 5.0
    warmup_s: float = 1.0
    timeout_s: float = 1.0
    quick: bool = False

    @classmethod
    def quick_settings(cls, timeout_s: float = 1.0) -> Settings:
        # Fewer and shorter steps, but the capacity measured as long as by default: every
        # step's rate is a multiple of it, and a 2 s closed loop once read Python's a quarter
        # low or more (it then served 1.32× that "capacity"), so "2×" barely overloaded it.
        return cls(fractions=QUICK_FRACTIONS, step_s=3.0, capacity_s=5.0, warmup_s=1.0,
                   timeout_s=timeout_s, quick=True)


@dataclass(frozen=True)
class Step:
    fraction: float
    rate: float            # requests per second offered
    connections: int       # enough that every request in flight has one (Little's law)


def connections_for(rate: float, wait_s: float) -> int:
    """oha's connections for an open loop at ``rate`` when a request may take up to ``wait_s``
    to be answered (or to time out): it holds its connection all that time, so about
    rate × wait_s are busy at once (Little's law), plus a quarter for bursts. With fewer,
    requests would queue inside the generator instead of at the server; with many more, the
    step would begin with every one of them opening a connection (oha hands each due request
    to an idle worker, and each worker connects on its first), a cost the server pays on top
    of the work being measured."""
    return max(CAPACITY_CONNECTIONS, min(MAX_CONNECTIONS, math.ceil(rate * wait_s * 1.25) + 10))


def step_wait_s(capacity_rps: float, rate: float, timeout_s: float) -> float:
    """How long a request of a step may wait: below capacity twice the predicted p99, and at
    least a quarter of a second (the model can be optimistic by ten times: Rust at 0.8× once
    measured 344 ms against 26 ms, and with too few connections oha's requests wait for one
    and go unsent, which would read as the generator's limit); the timeout at or past it."""
    if rate >= capacity_rps:
        return timeout_s
    predicted_p99_s = predict(capacity_rps, rate, timeout_s, 1.0, shedding=False)["p99_ms"] / 1000
    return min(timeout_s, max(2 * predicted_p99_s, MIN_WAIT_BELOW_CAPACITY_S))


def plan_sweep(capacity_rps: float, fractions: tuple[float, ...], timeout_s: float) -> list[Step]:
    """The open-loop steps: each fraction of the measured capacity, lowest first (so an
    overloaded step cannot leave a queue behind for a lighter one)."""
    if capacity_rps <= 0:
        return []
    steps = []
    for fraction in sorted(fractions):
        rate = round(capacity_rps * fraction, 1)
        wait_s = step_wait_s(capacity_rps, rate, timeout_s)
        steps.append(Step(fraction, rate, connections_for(rate, wait_s)))
    return steps


def calibrated_items(capacity_rps: float, items: int = DEFAULT_ITEMS) -> int:
    """The cost per request (``items``) that brings one core's capacity near TARGET_CAPACITY:
    the cost is about proportional to the items, so scale them by capacity / target. Inside
    the band the default stays (the same work on every server)."""
    low, high = CALIBRATION_BAND
    if capacity_rps <= 0 or low <= capacity_rps <= high:
        return items
    return max(MIN_ITEMS, min(MAX_ITEMS, round(items * capacity_rps / TARGET_CAPACITY)))


# --- the queueing model -------------------------------------------------------------------------

def predict(capacity_rps: float, rate: float, timeout_s: float, step_s: float,
            shedding: bool) -> dict[str, Any]:
    """One server of capacity μ (measured), arrivals at λ (offered):

    - utilisation ρ = λ/μ;
    - below capacity (M/M/1): time in the system is exponential with mean 1/(μ−λ), so
      p99 = ln(100)/(μ−λ); Little's law gives L = λ·W = ρ/(1−ρ) requests in the system; every
      request is answered (goodput = λ) while p99 stays under the timeout;
    - above capacity without shedding: the queue grows by λ−μ requests a second, so the wait
      reaches the timeout t* = T·μ/(λ−μ) seconds into the step; from then on the server spends its
      core on answers whose client has gone: goodput ≈ μ·t*/D over a step of D seconds, and the
      2xx answers that do arrive took almost the whole timeout;
    - above capacity with shedding: the server refuses what it cannot do, so goodput stays near
      μ and p99 stays bounded (under a quarter of the timeout).
    """
    rho = rate / capacity_rps
    service_s = 1 / capacity_rps
    if rate < capacity_rps:
        p99_s = math.log(100) / (capacity_rps - rate)
        in_system = rho / (1 - rho)
        if p99_s <= timeout_s:
            return {"utilisation": round(rho, 3), "goodput_rps": round(rate, 1),
                    "p99_ms": round(max(p99_s, service_s) * 1000, 1),
                    "in_system": round(in_system, 1), "verdict": "keeps up",
                    "timeout_crossed_after_s": None}
        # Near capacity: the tail alone crosses the timeout; about 1 % (or more) is lost.
        lost = math.exp(-(capacity_rps - rate) * timeout_s)
        return {"utilisation": round(rho, 3), "goodput_rps": round(rate * (1 - lost), 1),
                "p99_ms": round(timeout_s * 1000, 1), "in_system": round(in_system, 1),
                "verdict": "tail past the timeout", "timeout_crossed_after_s": None}
    if shedding:
        return {"utilisation": 1.0, "goodput_rps": round(capacity_rps, 1),
                "p99_ms": round(timeout_s * BOUNDED_P99 * 1000, 1), "in_system": None,
                "verdict": "sheds the excess", "timeout_crossed_after_s": None}
    if rate == capacity_rps:
        crossed = math.inf
    else:
        crossed = timeout_s * capacity_rps / (rate - capacity_rps)
    goodput = capacity_rps * min(1.0, crossed / step_s)
    return {"utilisation": 1.0, "goodput_rps": round(goodput, 1),
            "p99_ms": round(timeout_s * 1000, 1), "in_system": None,
            "verdict": "collapses" if crossed < step_s else "queue grows",
            "timeout_crossed_after_s": round(crossed, 2) if crossed != math.inf else None}


def prediction_misses(prediction: dict, step: dict, capacity_rps: float,
                      timeout_s: float) -> list[str]:
    """Where a step's measurement contradicts its prediction (empty: it holds). Goodput within
    ±20 % of the capacity; p99 on the same side of the two marks that matter: a quarter of
    the timeout (bounded) and half of it (near the timeout)."""
    misses = []
    if abs(step["goodput_rps"] - prediction["goodput_rps"]) > GOODPUT_TOLERANCE * capacity_rps:
        misses.append(f"goodput {step['goodput_rps']:,.0f} req/s, predicted "
                      f"{prediction['goodput_rps']:,.0f}")
    measured_p99 = step["p99_ms"]
    if measured_p99 is not None:
        bounded = timeout_s * 1000 * BOUNDED_P99
        near = timeout_s * 1000 * 0.5
        predicted_p99 = prediction["p99_ms"]
        if (predicted_p99 <= bounded) != (measured_p99 <= bounded) or \
                (predicted_p99 >= near) != (measured_p99 >= near):
            misses.append(f"p99 {measured_p99:,.0f} ms, predicted {predicted_p99:,.0f} ms")
    return misses


# --- one step's figures ---------------------------------------------------------------------------

def step_figures(load: Mapping[str, Any], capacity_rps: float) -> dict[str, Any]:
    """Goodput and the rest from one open-loop run (``LoadResult.as_dict()`` of oha).

    oha enforces the timeout itself (a request not answered within it is a timeout error), so
    every answer it counts arrived within the timeout: goodput is the 2xx answers per second.
    """
    loop = load.get("open_loop") or {}
    statuses = {int(code): count for code, count in (loop.get("statuses") or {}).items()}
    duration = load.get("measured_duration_s") or load.get("duration_s") or 1.0
    ok = sum(count for code, count in statuses.items() if 200 <= code < 300)
    shed = statuses.get(503, 0)
    errors = dict(load.get("errors") or {})
    timeouts = errors.pop("timeout", 0)
    scheduled, sent = loop.get("scheduled"), loop.get("sent")
    generator_limited = bool(scheduled and sent is not None
                             and sent < scheduled * (1 - GENERATOR_SHORTFALL))
    latency_2xx = loop.get("latency_2xx_us") or {}
    return {
        "offered_rps": loop.get("target_rate"),
        "scheduled": scheduled,
        "sent": sent,
        "achieved_rps": round(load.get("requests", 0) / duration, 1),
        "goodput_rps": round(ok / duration, 1),
        "goodput_fraction": round(ok / duration / capacity_rps, 3) if capacity_rps else None,
        "ok_2xx": ok,
        "shed_503": shed,
        "other_status": sum(count for code, count in statuses.items()
                            if not 200 <= code < 300 and code != 503),
        "timeouts": timeouts,
        "errors": sum(errors.values()),
        "p50_ms": _ms(latency_2xx.get("p50")),
        "p99_ms": _ms(latency_2xx.get("p99")),
        "generator_limited": generator_limited,
    }


def goodput_verdict(goodput_fraction: float | None, p99_ms: float | None, timeout_s: float,
                    timed_out_share: float = 0.0) -> str:
    """A step past capacity, in a word: "collapsed" (goodput under half the capacity),
    "bounded" (p99 of the 2xx answers under a quarter of the timeout), "timing out" (at least
    1 in 20 requests sent got no answer in time) or "degraded" (none of these)."""
    if goodput_fraction is None or goodput_fraction < COLLAPSE_GOODPUT:
        return "collapsed"
    if timed_out_share >= TIMING_OUT_SHARE:
        return "timing out"
    if p99_ms is not None and p99_ms <= timeout_s * 1000 * BOUNDED_P99:
        return "bounded"
    return "degraded"


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 1)


# --- where the queue is: the kernel's view ---------------------------------------------------------

LISTEN, ESTABLISHED = "0A", "01"


def parse_proc_net_tcp(text: str, port: int) -> dict[str, int]:
    """From /proc/net/tcp{,6}: the listen socket's accept queue (rx_queue of a LISTEN socket:
    connections the server has not accepted yet), and the established connections to ``port``
    with unread bytes (a request the server has not read yet: HTTP/1.1 without pipelining has
    one per connection)."""
    accept_queue = unread_connections = unread_bytes = 0
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port != port:
            continue
        rx_queue = int(fields[4].split(":")[1], 16)
        if fields[3] == LISTEN:
            accept_queue += rx_queue
        elif fields[3] == ESTABLISHED and rx_queue:
            unread_connections += 1
            unread_bytes += rx_queue
    return {"accept_queue": accept_queue, "unread_requests": unread_connections,
            "unread_bytes": unread_bytes}


class KernelQueues:
    """Samples the server's sockets while a step runs; ``None`` results when its network
    namespace cannot be read from here (an engine in a VM, another machine)."""

    def __init__(self, pid: int | None, port: int) -> None:
        self.files = [Path(f"/proc/{pid}/net/tcp"), Path(f"/proc/{pid}/net/tcp6")] if pid else []
        self.port = port
        self.samples: list[dict[str, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.readable = bool(self.files) and self._listening()

    def _read(self) -> dict[str, int] | None:
        total = {"accept_queue": 0, "unread_requests": 0, "unread_bytes": 0, "listening": 0}
        try:
            for file in self.files:
                text = file.read_text()
                for key, value in parse_proc_net_tcp(text, self.port).items():
                    total[key] += value
                total["listening"] += sum(
                    1 for line in text.splitlines()[1:]
                    if len(line.split()) > 3 and line.split()[3] == LISTEN
                    and int(line.split()[1].rsplit(":", 1)[1], 16) == self.port)
        except (OSError, ValueError, IndexError):
            return None
        return total

    def _listening(self) -> bool:
        # The pid must be the server's: a process in that namespace listens on the port.
        first = self._read()
        return bool(first and first["listening"])

    def __enter__(self) -> KernelQueues:
        if self.readable:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            sample = self._read()
            if sample:
                self.samples.append(sample)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)

    def summary(self) -> dict[str, Any] | None:
        if not self.readable or not self.samples:
            return None
        unread = [s["unread_requests"] for s in self.samples]
        accept = [s["accept_queue"] for s in self.samples]
        return {"samples": len(self.samples), "every_s": SAMPLE_EVERY_S,
                "unread_requests_median": statistics.median(unread),
                "unread_requests_max": max(unread),
                "accept_queue_median": statistics.median(accept),
                "accept_queue_max": max(accept)}


# --- the lab ----------------------------------------------------------------------------------------

RunStep = Callable[[Instance, loadgen.LoadOptions, float], Mapping[str, Any]]


def wait_drained(instance: Instance, timeout_s: float = 5.0) -> float:
    """After an overloaded step the server may still work through requests nobody waits for:
    wait until /health answers within 100 ms (at most ``timeout_s``); the seconds waited."""
    import httpx

    began = time.monotonic()
    url = instance.url + instance.server.health_path
    while time.monotonic() - began < timeout_s:
        sent = time.monotonic()
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
            if time.monotonic() - sent < 0.1:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return round(time.monotonic() - began, 2)


def sweep(runtime: Runtime, instance: Instance, path: str, steps: list[Step],
          capacity_rps: float, settings: Settings, run_step: RunStep, shedding: bool,
          phase: Callable[[str], None]) -> list[dict]:
    pid, port = runtime.server_sockets(instance) or (None, 0)
    results = []
    for step in steps:
        phase(f"{instance.server.title}: shedding {'on' if shedding else 'off'}, "
              f"{step.fraction:g}× capacity ({step.rate:,.0f} req/s, open loop)")
        options = loadgen.LoadOptions(path=path, connections=step.connections,
                                      duration_s=settings.step_s, rate=step.rate,
                                      timeout_s=settings.timeout_s)
        with KernelQueues(pid, port) as queues:
            load = run_step(instance, options, 0.0)
        figures = step_figures(load, capacity_rps)
        prediction = predict(capacity_rps, step.rate, settings.timeout_s, settings.step_s,
                             shedding)
        misses = [] if figures["generator_limited"] else \
            prediction_misses(prediction, figures, capacity_rps, settings.timeout_s)
        in_system = None
        mean_us = (load.get("latency_us") or {}).get("mean")
        if mean_us is not None:
            # Little's law on what was answered: requests in the system = rate × time in it.
            in_system = round(figures["achieved_rps"] * mean_us / 1e6, 1)
        results.append({"fraction": step.fraction, "connections": step.connections, **figures,
                        "in_system_littles_law": in_system, "kernel_queue": queues.summary(),
                        "drained_after_s": wait_drained(instance),
                        "predicted": prediction, "prediction_misses": misses,
                        "load": load})
    return results


def report_path(items: int) -> str:
    return PATH if items == DEFAULT_ITEMS else f"{PATH}?items={items}"


def measure_capacity(instance: Instance, settings: Settings, run_step: RunStep,
                     items: int = DEFAULT_ITEMS) -> dict:
    """The closed loop's maximum on /report: wrk with a few connections, as fast as it
    answers."""
    options = loadgen.LoadOptions(path=report_path(items), connections=CAPACITY_CONNECTIONS,
                                  duration_s=settings.capacity_s, timeout_s=2.0)
    load = run_step(instance, options, settings.warmup_s)
    ok = load["requests"] - load["non_2xx"]
    return {"requests_per_s": round(ok / (load["measured_duration_s"] or 1.0), 1),
            "connections": CAPACITY_CONNECTIONS, "items": items, "path": report_path(items),
            "load": load}


def find_capacity(instance: Instance, settings: Settings, run_step: RunStep,
                  phase: Callable[[str], None]) -> tuple[dict, dict | None]:
    """The capacity the sweep works from, and (when the default cost was outside the band)
    the capacity at the default cost, measured first. The cost is not quite proportional to
    the items (each request also costs its parsing and its answer), so a scaled cost is
    measured and scaled again, at most CALIBRATION_ROUNDS times."""
    phase(f"{instance.server.title}: capacity (closed loop, {CAPACITY_CONNECTIONS} connections)")
    at_default = capacity = measure_capacity(instance, settings, run_step)
    wait_drained(instance)
    for _ in range(CALIBRATION_ROUNDS):
        items = calibrated_items(capacity["requests_per_s"], capacity["items"])
        if items == capacity["items"]:
            break
        phase(f"{instance.server.title}: capacity at items={items} (closed loop)")
        capacity = measure_capacity(instance, settings, run_step, items)
        wait_drained(instance)
    return capacity, (None if capacity is at_default else at_default)


def summarise(capacity_rps: float, runs: dict[str, dict], timeout_s: float) -> dict:
    """The top step of each run: goodput as a fraction of capacity, p99, and the verdict."""
    top = {}
    for run_name, run in runs.items():
        steps = run["steps"]
        if not steps:
            continue
        last = steps[-1]
        top[run_name] = {"fraction": last["fraction"], "goodput_rps": last["goodput_rps"],
                         "goodput_fraction": last["goodput_fraction"], "p99_ms": last["p99_ms"],
                         "shed_503": last["shed_503"], "timeouts": last["timeouts"],
                         "generator_limited": last["generator_limited"],
                         "verdict": "generator limit" if last["generator_limited"] else
                         goodput_verdict(last["goodput_fraction"], last["p99_ms"], timeout_s,
                                         last["timeouts"] / max(last["sent"] or 0, 1))}
    return top


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Settings,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> dict:
    phase = on_phase or (lambda _text: None)
    # Two generators: wrk for the capacity (closed loop), oha for the sweep (open loop).
    wrk = loadgen.prepare_generator(runtime, loadgen.LoadOptions(), on_build_line)
    oha = loadgen.prepare_generator(runtime, loadgen.LoadOptions(rate=1.0), on_build_line)

    def run_step(instance: Instance, options: loadgen.LoadOptions,
                 warmup_s: float) -> Mapping[str, Any]:
        generator = oha if options.rate is not None else wrk
        return loadgen.run_load(runtime, instance, options, client_cpuset(instance.limits),
                                generator=generator, warmup_s=warmup_s).as_dict()

    results: dict[str, dict] = {}
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        began = time.monotonic()
        runs: dict[str, dict] = {}
        capacity: dict = {}
        at_default: dict | None = None
        for run_name, env in RUNS:
            with running(runtime, server, limits, env=env) as instance:
                if not capacity:
                    capacity, at_default = find_capacity(instance, settings, run_step, phase)
                steps = plan_sweep(capacity["requests_per_s"], settings.fractions,
                                   settings.timeout_s)
                runs[run_name] = {"env": env, "steps": sweep(
                    runtime, instance, capacity["path"], steps, capacity["requests_per_s"],
                    settings, run_step, run_name == "on", phase)}
        capacity_rps = capacity["requests_per_s"]
        results[server.name] = {
            **server_facts(server), "capacity": capacity,
            "capacity_at_default_items": at_default,
            "service_ms": round(1000 / capacity_rps, 3) if capacity_rps else None,
            "runs": runs, "top_step": summarise(capacity_rps, runs, settings.timeout_s),
            "seconds": round(time.monotonic() - began, 1)}
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"path": PATH, "default_items": DEFAULT_ITEMS,
                       "calibration_band_rps": list(CALIBRATION_BAND),
                       "target_capacity_rps": TARGET_CAPACITY, "fractions": list(settings.fractions),
                       "step_s": settings.step_s, "capacity_s": settings.capacity_s,
                       "warmup_s": settings.warmup_s, "timeout_s": settings.timeout_s,
                       "shed_env": SHED_ENV, "quick": settings.quick,
                       "capacity_connections": CAPACITY_CONNECTIONS,
                       "collapse_goodput": COLLAPSE_GOODPUT, "bounded_p99": BOUNDED_P99,
                       "timing_out_share": TIMING_OUT_SHARE,
                       "goodput_tolerance": GOODPUT_TOLERANCE},
        "limits": limits.as_dict(),
        "servers": results,
    }


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer for a (server, row) cell: goodput as a fraction of capacity ("0.2",
    "20%") within ±0.2, or p99 in ms ("900") within a factor of two."""
    text = answer.strip().rstrip("ms").strip()
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        return False
    if cell["kind"] == "goodput":
        return cell["value"] is not None and abs(value - cell["value"]) <= 0.2
    measured = cell["value"]
    return measured is not None and measured / 2 <= value <= measured * 2


SHEET_ROWS = (("off-goodput", "shedding off, 2× capacity: goodput as a fraction of capacity"),
              ("off-p99", "shedding off, 2× capacity: p99 of the 2xx answers, ms"),
              ("on-goodput", "shedding on, 2× capacity: goodput as a fraction of capacity"),
              ("on-p99", "shedding on, 2× capacity: p99 of the 2xx answers, ms"))


def learner_cells(entry: dict) -> dict[str, dict]:
    cells = {}
    for run_name, top in entry["top_step"].items():
        cells[f"{run_name}-goodput"] = {"kind": "goodput", "value": top["goodput_fraction"]}
        cells[f"{run_name}-p99"] = {"kind": "p99", "value": top["p99_ms"]}
    return cells


def settings_for(quick: bool, timeout_s: float) -> Settings:
    return Settings.quick_settings(timeout_s) if quick else replace(Settings(), timeout_s=timeout_s)


def _sheet(chosen: list[Server], settings: Settings) -> str:
    from labctl.labs import predictions

    return predictions.sheet(
        "labctl lab overload", [s.name for s in chosen], list(SHEET_ROWS),
        'A goodput is a share of the capacity ("0.9" or "90%"); a p99 is in ms ("40").')


PLUGIN = LabPlugin(
    name="overload",
    run=run_lab,
    sheet=_sheet, judge=judge_learner, cells_of=learner_cells)
