"""Removing what a labctl that died left behind, on every runtime, before a command runs.

A ``labctl run`` killed with ``kill -9`` cannot stop its server: its ``finally`` blocks never run.
Every server (container or process group) is therefore labelled with the labctl process that
started it (pid and that process's start time, so a recycled pid is not mistaken for it), and the
next labctl command removes those whose owner is gone. This happens in one place, the root
command's callback, so every command that touches servers or their state reaps — including ones
added later. A live labctl's servers are never touched, so two labctl runs at once leave each
other alone; ``labctl down`` stays the explicit way to remove everything.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from labctl.config import CLIENT_CONTEXT_VARIABLE

# Commands that never start servers nor read their state: they do not pay for an engine round trip.
LEARNING_COMMANDS = frozenset({"lessons", "show", "quiz", "next", "results"})


def reap_everywhere(announce: Callable[[str], None] | None = None) -> list[str]:
    """Remove orphans of dead labctl processes on the local runtime and, when an engine answers,
    on Docker. Never fails: a runtime that cannot be asked has nothing this labctl could remove."""
    from labctl.errors import LabctlError
    from labctl.runtime.local import LocalRuntime

    reaped: list[str] = []
    try:
        reaped += LocalRuntime().reap_orphans()
    except (LabctlError, OSError):
        pass
    try:
        from labctl.runtime.docker import DockerRuntime

        reaped += DockerRuntime().reap_orphans()
    except Exception:  # noqa: BLE001 - no engine, an engine that hiccups: nothing to reap there
        pass
    client_context = os.environ.get(CLIENT_CONTEXT_VARIABLE, "").strip()
    if client_context:   # probe and load-generator containers live on that engine (--client-context)
        try:
            from labctl.runtime import engine
            from labctl.runtime.docker import DockerRuntime

            location = engine.locate(context=client_context)
            reaped += DockerRuntime(location=location).reap_orphans()
        except Exception:  # noqa: BLE001 - the same rule: nothing this labctl could remove
            pass
    if reaped and announce is not None:
        announce(f"removed {len(reaped)} server(s) left by a labctl that no longer runs: "
                 + ", ".join(reaped))
    return reaped
