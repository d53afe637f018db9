"""`labctl run`: prepare one server, start it, check it, time it, stop it.

Returns a plain JSON-ready document (schema ``labctl.run/1``, described in docs/json.md);
rendering is ui's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from labctl.measure import clients
from labctl.measure.probe import MODE_LABELS, curl_command
from labctl.results import hostinfo
from labctl.results.documents import (
    RunDocument,
    add_between_engines,
    cold_start_note,
    document_head,
)
from labctl.runtime import client_engine
from labctl.runtime.base import Limits, ProgressCallback, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

RUN_SCHEMA = "labctl.run/1"


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
        phase(f"timing {server.title}: {options.samples} samples per path and connection mode"
              + (f", {client.where}" if client.elsewhere else ""))
        results, probe_cpus = client.measure({server.name: instance.url},
                                             cpuset=client_engine.client_cpus(
                                                 runtime, instance.limits),
                                             samples=options.samples, warmup=options.warmup)
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
            "curl": curl_command(instance.public_url + "/health"),
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
