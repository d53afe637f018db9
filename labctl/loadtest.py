"""`labctl load`: prepare one server and a load generator, load the server, and build the
``labctl.load/1`` document (described in docs/json.md), as runner.py does for `labctl run`.

No printing: the command shows progress through the callbacks and renders the document.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from labctl.measure import loadgen
from labctl.results import hostinfo
from labctl.results.documents import LoadDocument, add_between_engines, document_head
from labctl.runtime import client_engine
from labctl.runtime.base import BuildInfo, Instance, Limits, ProgressCallback, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

LOAD_SCHEMA = "labctl.load/1"


@dataclass
class PreparedLoad:
    """A built server and a ready generator (its image built, its binary found)."""

    build: BuildInfo
    generator: loadgen.Generator


def prepare(runtime: Runtime, server: Server, options: loadgen.LoadOptions, *,
            rebuild: bool = False, on_build_line: ProgressCallback | None = None,
            on_phase: Callable[[str], None] | None = None) -> PreparedLoad:
    phase = on_phase or (lambda _text: None)
    options.validate()
    phase(f"preparing {server.title}")
    build = runtime.prepare(server, on_build_line, rebuild=rebuild)
    phase("preparing the load generator")
    return PreparedLoad(build, loadgen.prepare_generator(runtime, options, on_build_line))


def run(runtime: Runtime, server: Server, prepared: PreparedLoad, options: loadgen.LoadOptions,
        limits: Limits, *, warmup_s: float = 0.0,
        on_load: Callable[[Instance], AbstractContextManager[Any]] | None = None) -> LoadDocument:
    """Start the server, load it (``on_load`` wraps the load: a spinner), stop it; the document."""
    with running(runtime, server, limits) as instance:
        client_cpus = client_engine.client_cpus(runtime, instance.limits)
        with (on_load(instance) if on_load else nullcontext()):
            result = loadgen.run_load(runtime, instance, options, client_cpus,
                                      generator=prepared.generator, warmup_s=warmup_s)
        document = load_document(runtime, prepared, instance, result, client_cpus)
    if "stop_seconds" in instance.extra:
        document["stop_seconds"] = instance.extra["stop_seconds"]
    return document


def load_document(runtime: Runtime, prepared: PreparedLoad, instance: Instance,
                  result: loadgen.LoadResult, client_cpus: str | None) -> LoadDocument:
    document: LoadDocument = {
        **document_head(LOAD_SCHEMA, runtime, prepared.build, instance),
        "cpus": {"server": instance.limits.cpuset, "client": client_cpus,
                 "separated": client_cpus is not None},
        "load": result.as_dict(),
        "generator_image": getattr(prepared.generator, "image_details", None) or None,
        "flagged": result.flagged,
        "host": hostinfo.host_facts(),
    }
    add_between_engines(document, runtime)
    return document
