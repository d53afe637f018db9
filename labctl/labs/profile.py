"""The profiling lab (lesson 010): where each server's CPU time goes, in its own stack's profiler.

Each server is started with ``PROFILE=on``, which adds its profiler's route (the servers'
``profiling`` files): Go's runtime/pprof through net/http/pprof, py-spy started by the Python
server on itself, V8's CPU profiler through Node's inspector module, and the pprof crate inside
the Rust server. Every one samples 100 times a second and none needs a capability: pprof, V8 and
pprof-rs sample from inside the process; py-spy reads the server's memory as its child, with the
same user id.

For each server: a closed-loop load on the CPU-bound endpoint without sampling, then the same
load while the profiler samples, then without again. The profile becomes folded stacks
(profile_formats), read as top functions and layer shares (profile_layers); the throughput with
and without sampling is the profiler's overhead. ``run_lab`` measures; rendering is
profile_render's, the flame graphs the report's.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

from labctl.errors import LabctlError
from labctl.labs import LabPlugin, predictions, profile_formats, profile_layers
from labctl.measure import loadgen
from labctl.results import hostinfo
from labctl.results.documents import (
    ProfileDocument,
    ProfileLoad,
    ProfileLoads,
    ProfileOverhead,
    ProfileServer,
    ProfileSummary,
    server_facts,
)
from labctl.runtime.base import Instance, Limits, Runtime
from labctl.runtime.cpus import client_cpuset
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LAB_SCHEMA = "labctl.lab.profile/1"
PROFILE_ENV = "PROFILE"
CPU_PATH = "/report?items=250"   # the CPU-bound endpoint every server has (lesson 008)
RATE_HZ = 100


@dataclass(frozen=True)
class Profiler:
    """One stack's profiler as the server exposes it with PROFILE=on."""

    name: str
    route: str        # GET route?seconds=N answers the profile
    format: str       # a key of profile_formats.PARSERS
    how: str          # how it samples, and what rights it needs
    by_hand: str      # the same profile by hand, from a server run with PROFILE=on PORT=8080


PROFILERS: dict[str, Profiler] = {
    "go": Profiler(
        "runtime/pprof, served by net/http/pprof", "/debug/pprof/profile", "pprof",
        "in-process: SIGPROF every 10 ms of CPU time; no privileges",
        "go tool pprof -top 'http://127.0.0.1:8080/debug/pprof/profile?seconds=8'"),
    "python": Profiler(
        "py-spy 0.4.1", "/debug/py-spy", "py-spy-raw",
        "a child process of the server reads its memory (ptrace rights through the same user "
        "id; no capability added)",
        "py-spy record --rate 100 --format raw -o python.folded --duration 8 --pid PID"),
    "node": Profiler(
        "V8 CPU profiler, through node:inspector", "/debug/cpuprofile", "v8-cpuprofile",
        "in-process: V8's sampler thread interrupts the main thread every 10 ms; no privileges",
        "node --cpu-prof --cpu-prof-interval 10000 server.js  (written when it exits), or "
        "curl -o node.cpuprofile 'http://127.0.0.1:8080/debug/cpuprofile?seconds=8'"),
    "rust": Profiler(
        "pprof crate 0.15 (pprof-rs)", "/debug/pprof/profile", "pprof-rs",
        "in-process: SIGPROF every 10 ms of CPU time (setitimer); no privileges",
        "curl -o rust.folded 'http://127.0.0.1:8080/debug/pprof/profile?seconds=8'"),
}

# The lesson's prediction: the layer with the most samples on GET /report, per server.
PREDICTED_DOMINANT = {"go": "handler", "python": "handler", "rust": "handler", "node": "handler"}
SHARE_TOLERANCE = 0.15   # a learner's layer share "agrees" within 15 percentage points


@dataclass(frozen=True)
class Settings:
    load_s: float = 6.0          # each of the three loads
    path: str = CPU_PATH
    connections: int = 10
    warmup_s: float = 1.0
    lead_s: float = 0.3          # sampling starts this long before the profiled load is sent


QUICK = Settings(load_s=2.0, warmup_s=0.5)


def rules_for(server: Server) -> profile_layers.Rules:
    """The layer rules for one server, its own source files being the handler."""
    if server.name == "go":
        return profile_layers.GO_RULES
    if server.name == "rust":
        return profile_layers.rust_rules()
    suffix = ".py" if server.name == "python" else ".js"
    own = sorted(path.name for path in server.source_dir.glob(f"*{suffix}"))
    return (profile_layers.python_rules(own) if server.name == "python"
            else profile_layers.node_rules(own))


def fetch_profile(instance: Instance, profiler: Profiler, seconds: int) -> bytes:
    """Ask the server for a profile of ``seconds``; it answers when they are over."""
    url = f"{instance.url}{profiler.route}?seconds={seconds}"
    try:
        # Generous: py-spy shares the server's CPU, and a starved one finishes late.
        with httpx.Client(timeout=httpx.Timeout(2 * seconds + 60.0, connect=5.0),
                          trust_env=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise LabctlError(f"the {instance.server.title} server's profiler did not answer "
                          f"({type(exc).__name__})", "Its last log lines are below") from None
    if response.status_code != 200:
        raise LabctlError(f"the {instance.server.title} server's profiler answered "
                          f"{response.status_code}: {response.text[:200]}",
                          f"Is {PROFILE_ENV}=on read by this server (its profiling file)?")
    return response.content


def _load_figures(result) -> ProfileLoad:
    return {"requests_per_s": round(result.requests_per_s, 1),
            "latency_p50_ms": _ms(result.latency_us.get("p50")),
            "latency_p99_ms": _ms(result.latency_us.get("p99")),
            "failed": result.socket_errors + result.non_2xx,
            "duration_s": result.duration_s}


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 2)


def measure_server(instance: Instance, profiler: Profiler, settings: Settings,
                   run_load: Callable[[float], object]) -> tuple[ProfileLoads, bytes, int]:
    """Three loads of ``settings.load_s``: without sampling, while sampling, without again.
    Returns the load figures, the profile's bytes and its length in seconds.

    A load generator takes a moment to start (a container, under a busy engine several
    seconds), so the unsampled load's wall time minus its own length is measured first; the
    profile then starts just before the sampled load and lasts that start-up, the load and a
    margin, so that it covers the whole sampled load."""
    run_load(settings.warmup_s)
    began = time.monotonic()
    before = run_load(settings.load_s)
    start_up = max(0.0, time.monotonic() - began - settings.load_s)
    seconds = math.ceil(settings.lead_s + start_up + settings.load_s + 1.0)
    taken: dict = {}

    def sample() -> None:
        try:
            taken["data"] = fetch_profile(instance, profiler, seconds)
        except LabctlError as error:
            taken["error"] = error

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(settings.lead_s)
    during = run_load(settings.load_s)
    sampler.join(2 * seconds + 70)
    if "error" in taken:
        raise taken["error"]
    if "data" not in taken:
        raise LabctlError(f"the {instance.server.title} server's profile did not arrive",
                          "Try again; labctl stops the server either way")
    after = run_load(settings.load_s)
    return ({"before": _load_figures(before), "sampling": _load_figures(during),
             "after": _load_figures(after)}, taken["data"], seconds)


def overhead(loads: ProfileLoads) -> ProfileOverhead:
    """The profiler's cost in throughput: the profiled load against the mean of the two
    unprofiled ones, and the spread of those two, which is this run's own noise."""
    unprofiled = [loads["before"]["requests_per_s"], loads["after"]["requests_per_s"]]
    mean = sum(unprofiled) / 2
    sampled = loads["sampling"]["requests_per_s"]
    cost = (mean - sampled) / mean if mean else None
    noise = abs(unprofiled[0] - unprofiled[1]) / mean if mean else None
    return {"without_rps": round(mean, 1), "with_rps": sampled,
            "cost": None if cost is None else round(cost, 4),
            "noise": None if noise is None else round(noise, 4),
            "beyond_noise": None if cost is None or noise is None else abs(cost) > noise}


def summarise(folded: profile_formats.Folded, rules: profile_layers.Rules) -> ProfileSummary:
    shares = profile_layers.layer_shares(folded, rules)
    dominant = max(shares.items(), key=lambda kv: kv[1])[0]
    return {"samples": sum(folded.values()), "stacks": len(folded),
            "layers": {layer: round(share, 4) for layer, share in shares.items()},
            "dominant": dominant, "top": profile_layers.top_functions(folded, rules, limit=10),
            "frame_layers": profile_layers.frames_layer(folded, rules)}


def judge_learner(answer: str, cell: dict) -> bool:
    """A learner's answer for a (server, row) cell: a layer name for the ``dominant`` row, a
    percentage for a layer's row ("60", "60%"), right within SHARE_TOLERANCE."""
    text = answer.strip().lower().rstrip("%").strip()
    if "layer" in cell:
        return text == cell["layer"]
    try:
        return abs(float(text) / 100 - cell["share"]) <= SHARE_TOLERANCE
    except ValueError:
        return False


def cells_of(entry: dict) -> dict:
    """One server's measured cells for scoring: the dominant layer and each layer's share."""
    cells: dict = {"dominant": {"layer": entry["profile"]["dominant"]}}
    for layer, share in entry["profile"]["layers"].items():
        cells[layer] = {"share": share}
    return cells


SHEET_ROWS = [("dominant", "the layer with the most samples (handler, framework, runtime, kernel)"),
              *[(layer, f"the share of samples in the {layer} layer, in %")
                for layer in ("handler", "framework", "runtime", "kernel")]]


def run_lab(runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Settings,
            on_phase: Callable[[str], None] | None = None,
            on_build_line: Callable[[str], None] | None = None) -> ProfileDocument:
    """Profile each server under a closed-loop load on ``settings.path``."""
    phase = on_phase or (lambda _text: None)
    options = loadgen.LoadOptions(path=settings.path, connections=settings.connections,
                                  duration_s=settings.load_s)
    generator = loadgen.prepare_generator(runtime, options, on_build_line)

    def run_load(instance: Instance, seconds: float):
        return loadgen.run_load(runtime, instance, replace(options, duration_s=seconds),
                                client_cpuset(instance.limits), generator=generator)

    results: dict[str, ProfileServer] = {}
    for server in chosen:
        profiler = PROFILERS.get(server.name)
        if profiler is None:
            continue
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        phase(f"{server.title}: {settings.load_s:g} s of load without sampling, "
              f"with {profiler.name}, without again")
        with running(runtime, server, limits, env={PROFILE_ENV: "on"}) as instance:
            loads, data, seconds = measure_server(instance, profiler, settings,
                                                  functools.partial(run_load, instance))
        folded = profile_formats.to_folded(profiler.format, data)
        summary = summarise(folded, rules_for(server))
        predicted = PREDICTED_DOMINANT.get(server.name)
        results[server.name] = {
            **server_facts(server),
            "profiler": {"name": profiler.name, "format": profiler.format,
                         "route": profiler.route, "rate_hz": RATE_HZ, "how": profiler.how,
                         "seconds": seconds,
                         "by_hand": profiler.by_hand},
            "loads": loads, "overhead": overhead(loads),
            "profile": summary, "folded": folded,
            "predicted_dominant": predicted,
            "prediction_holds": None if predicted is None else summary["dominant"] == predicted,
            "path": {"kind": instance.path_kind, "description": instance.path},
        }
    return {
        "schema": LAB_SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": runtime.describe(),
        "host": hostinfo.host_facts(),
        "parameters": {"path": settings.path, "connections": settings.connections,
                       "load_s": settings.load_s, "warmup_s": settings.warmup_s,
                       "rate_hz": RATE_HZ,
                       "profile_env": PROFILE_ENV, "loop": "closed", "keepalive": True,
                       "share_tolerance": SHARE_TOLERANCE},
        "limits": limits.as_dict(),
        "servers": results,
    }


def _sheet(chosen: list[Server], settings: Settings) -> str:
    return predictions.sheet(
        "labctl lab profile", [server.name for server in chosen], SHEET_ROWS,
        'An answer is a layer for the "dominant" row (handler, framework, runtime, kernel) and a '
        'percentage for the others ("60%"); right within 15 points.')


PLUGIN = LabPlugin(name="profile", run=run_lab, sheet=_sheet, judge=judge_learner,
                   cells_of=cells_of)
