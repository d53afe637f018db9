"""`labctl run`: prepare one server, start it, check it, time it, stop it.

Returns a plain JSON-ready document (schema ``labctl.run/1``, described in docs/json.md);
rendering is ui's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from labctl.measure import clients, oneshot
from labctl.measure.modes import FRESH
from labctl.measure.probe import MODE_LABELS, curl_command
from labctl.results import hostinfo
from labctl.results.documents import (
    RunDocument,
    RunOneShot,
    add_between_engines,
    cold_start_note,
    document_head,
)
from labctl.runtime import client_engine
from labctl.runtime.base import Limits, ProgressCallback, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

RUN_SCHEMA = "labctl.run/1"
HEADLINE_PATH = "/health"     # the path of the reproduce-by-hand command and the gap reading


@dataclass
class RunOptions:
    samples: int = 50
    warmup: int = 5
    limits: Limits = field(default_factory=Limits)
    keep: bool = False
    rebuild: bool = False


def run_server(runtime: Runtime, server: Server, options: RunOptions,
               on_build_line: ProgressCallback | None = None,
               on_phase: Callable[[str], None] | None = None) -> RunDocument:
    phase = on_phase or (lambda _text: None)
    phase(f"preparing {server.title}")
    build = runtime.prepare(server, on_build_line, rebuild=options.rebuild)
    client = clients.for_runtime(runtime)
    if client.preparing:
        phase(client.preparing)
    client.prepare(on_build_line)
    phase(f"starting {server.title}")
    with running(runtime, server, options.limits, keep=options.keep) as instance:
        phase(f"checking {server.title}")
        checks = client.check(server, instance.url)
        # One curl process per request too, between the probe's rounds.
        curl = oneshot.Plan.beside(options.samples)
        phase(f"timing {server.title}: {options.samples} samples per path and connection mode, "
              f"and {curl.samples} with the curl program"
              + (f", {client.where}" if client.elsewhere else ""))
        probe_cpuset = client_engine.client_cpus(runtime, instance.limits)
        results, probe_cpus = client.measure({server.name: instance.url}, cpuset=probe_cpuset,
                                             samples=options.samples, warmup=options.warmup,
                                             one_shot=curl)
        assert curl.result is not None    # every client fills in the plan it was handed
        client.date_changes(checks, instance.url)
        document: RunDocument = {
            **document_head(RUN_SCHEMA, runtime, build, instance),
            "cold_start_ms": round(instance.cold_start_ms or 0.0, 1),
            "verification": checks.as_dict(),
            "probe": {**client.facts(), "samples": options.samples,
                      "warmup_discarded": options.warmup, "modes": MODE_LABELS,
                      "cpus": probe_cpus},
            "endpoints": {
                path: {mode: series.as_dict() for mode, series in by_mode.items()}
                for path, by_mode in results[server.name].items()
            },
            "one_shot_curl": one_shot_part(curl.result, server.name, results[server.name]),
            # The URL the figures were measured at when it is reachable from here (the bridge,
            # not docker-proxy's published port), so the command reproduces the same path.
            "curl": curl_command((instance.public_url if client.elsewhere else instance.url)
                                 + HEADLINE_PATH),
            "kept_running": options.keep,
            "host": hostinfo.host_facts(),
        }
    note = cold_start_note(instance)
    if note:
        document["cold_start_note"] = note
    if "stop_seconds" in instance.extra:
        document["stop_seconds"] = instance.extra["stop_seconds"]
    add_between_engines(document, runtime)
    return document


def one_shot_part(curl_series: dict, name: str, results: dict) -> RunOneShot:
    """The curl series of one server, its gap to the new-connection figure and the sentences
    that explain it."""
    part = {key: value for key, value in curl_series.items()
            if key not in ("servers", "second_request")}
    endpoints = curl_series["servers"].get(name, {})
    second = curl_series.get("second_request", {}).get(name, {})
    fresh = results.get(HEADLINE_PATH, {}).get(FRESH)
    found = oneshot.gap(endpoints.get(HEADLINE_PATH), fresh.as_dict() if fresh else None,
                        HEADLINE_PATH, second.get(HEADLINE_PATH))
    part.update(endpoints=endpoints, second_request=second, gap=found,
                reading=oneshot.reading(found) if found else [],
                expect=oneshot.expectation(found, part.get("why_not")))
    return cast(RunOneShot, part)
