"""Steps shared by every command that starts servers (their options are in ``options``).

Imported by command modules at start-up, so the runtimes are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from labctl import ui

if TYPE_CHECKING:
    from labctl.runtime.base import Limits, Runtime


def default_limits(cpus: float, memory_mb: int) -> Limits:
    """Servers get the last CPU(s); CPU 0 stays for labctl's probe or load generator.

    On a one-core machine nothing can be separated, and the limit alone applies.
    """
    import math

    from labctl.errors import UsageProblem
    from labctl.runtime import cpus as cpu_sets
    from labctl.runtime.base import Limits

    usable = sorted(cpu_sets.usable_cpus())   # the remote engine's, when the servers run there
    cores = len(usable)
    remote = cpu_sets.engine_elsewhere()
    if not math.isfinite(cpus) or cpus > cores:
        raise UsageProblem(f"--cpus {cpus:g}: {'the engine' if remote else 'this machine'} lets "
                           f"labctl use {cores} core(s)",
                           f"Give at most --cpus {cores}")
    total_mb = cpu_sets.engine_memory_mb() or cpu_sets.total_memory_mb()
    if total_mb is not None and memory_mb > total_mb:
        where = "the engine's machine" if remote else "this machine"
        raise UsageProblem(f"--memory {memory_mb}: {where} has {total_mb} MB",
                           f"Give at most --memory {total_mb}")
    whole = max(1, int(-(-cpus // 1)))   # cores to pin to: the limit rounded up
    if cores >= 2 and whole < cores:
        # The last usable CPUs, by number: on a machine that lets labctl use CPUs 2 and 3 only
        # (a cgroup cpuset, taskset), 0 and 1 are not the ones to take.
        cpuset = cpu_sets.format_cpuset(set(usable[-whole:]))
        return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=cpuset)
    return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=None)


def prepare_runtime(name: str | None, client_context: str | None = None) -> Runtime:
    """Select the runtime and arrange for SIGTERM to clean up like Ctrl-C. (Orphans of a killed
    labctl were already reaped by the root command, see ``labctl.runtime.reaper``.)

    ``name`` is a ``RuntimeChoice`` (a str) or None: not given, so LABCTL_RUNTIME or auto.
    ``client_context``: a Docker context whose engine runs the probe and the load generator
    (``--client-context``, labctl/runtime/client_engine.py).
    """
    from labctl import runtime as runtimes
    from labctl.runtime.lifecycle import install_termination_handler

    client_context = (client_context or "").strip() or None
    if client_context:
        from labctl.runtime.client_engine import validate_context

        validate_context(client_context)   # a wrong name: one line, before anything connects
    install_termination_handler()
    runtime = runtimes.select(name, announce=ui.info)
    location = runtime.location
    if location is not None and runtime.measures_on_engine():
        from labctl.runtime import cpus

        cpus.use_engine_cpus(runtime.engine_cpus(), runtime.engine_memory_mb())
        if not client_context:
            ui.info(f"the Docker engine is on {location.machine}: labctl measures from "
                    "containers next to the servers there")
    if client_context:
        from labctl.runtime import client_engine

        ui.info(client_engine.attach(runtime, client_context).announcement())
    # Orphans of a killed labctl were already reaped by the root command (runtime.reaper).
    return runtime


@contextmanager
def build_status(title: str) -> Iterator[tuple[Callable[[str], None], Callable[[str], None]]]:
    """A spinner on stderr showing the build step in progress; yields the line and phase
    callbacks. Under ``--debug`` (or LABCTL_DEBUG=1), where the time went, phase by phase, is
    printed on stderr at the end (bench/warm_compare.py reads it)."""
    clock = PhaseClock()
    with ui.err().status(title) as status:
        def on_line(line: str) -> None:
            if line.startswith("Step ") or line.startswith("---> Running"):
                status.update(f"{title}: {line[:100]}")

        def on_phase(text: str) -> None:
            clock.enter(text)
            status.update(text)

        try:
            yield on_line, on_phase
        finally:
            clock.enter(None)
    if debug_enabled():
        ui.err().print(clock.breakdown())


def debug_enabled() -> bool:
    """``labctl --debug`` (or LABCTL_DEBUG=1) is in force for the running command."""
    import os

    return ui.debug_requested or os.environ.get("LABCTL_DEBUG") == "1"


class PhaseClock:
    """How long each progress phase of a command lasted, grouped by its kind (the phase's first
    word: building, starting, checking, timing, cold…)."""

    def __init__(self) -> None:
        import time

        self._now = time.monotonic
        self.started = self._now()
        self._current: tuple[str, float] | None = None
        self.seconds: dict[str, float] = {}

    def enter(self, text: str | None) -> None:
        now = self._now()
        if self._current is not None:
            kind, since = self._current
            self.seconds[kind] = self.seconds.get(kind, 0.0) + (now - since)
        self._current = (text.split(" ", 1)[0].rstrip(":") or text, now) if text else None

    def breakdown(self) -> str:
        total = self._now() - self.started
        parts = [f"{kind} {seconds:.2f} s" for kind, seconds in
                 sorted(self.seconds.items(), key=lambda item: -item[1])]
        return f"phases ({total:.2f} s in all): " + ", ".join(parts)
