"""`labctl verify`: build, start and check each server in turn, measuring nothing.

The checks themselves are ``labctl.measure.verify``'s; this module runs them on each server
through the measuring client chosen for the runtime, and builds the ``labctl.verify/1`` document.
"""

from __future__ import annotations

from collections.abc import Callable

from labctl.measure import clients
from labctl.results.documents import VerifyDocument, add_between_engines
from labctl.runtime.base import Limits, ProgressCallback, Runtime
from labctl.runtime.lifecycle import running
from labctl.servers import Server

VERIFY_SCHEMA = "labctl.verify/1"


def verify_servers(runtime: Runtime, chosen: list[Server], limits: Limits,
                   on_build_line: ProgressCallback | None = None,
                   on_phase: Callable[[str], None] | None = None) -> VerifyDocument:
    """`labctl verify`: build, start and check each server in turn; the ``labctl.verify/1``
    document."""
    phase = on_phase or (lambda _text: None)
    client = clients.for_runtime(runtime)
    if client.preparing:
        phase(client.preparing)
    client.prepare(on_build_line)
    results = []
    for server in chosen:
        phase(f"building {server.title}")
        runtime.prepare(server, on_build_line)
        phase(f"checking {server.title}")
        with running(runtime, server, limits) as instance:
            verification = client.check(server, instance.url)
            client.date_changes(verification, instance.url)
        results.append(verification.as_dict())
    document: VerifyDocument = {"schema": VERIFY_SCHEMA, "runtime": runtime.name, "checked_from": client.where,
                "servers": results}
    add_between_engines(document, runtime)
    return document
