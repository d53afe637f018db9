"""Options and steps shared by every command that starts servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from labctl import hostinfo, ui
from labctl import runtime as runtimes
from labctl.runtime.base import Limits, Runtime
from labctl.runtime.lifecycle import install_termination_handler

RUNTIME_HELP = "Where servers run: docker, local (native processes) or auto [env: LABCTL_RUNTIME]."

RuntimeOption = typer.Option(None, "--runtime", "-r", help=RUNTIME_HELP, show_default="auto")
JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
CpusOption = typer.Option(1.0, "--cpus", min=0.1, help="CPU cores each server may use.")
MemoryOption = typer.Option(512, "--memory", min=64, help="Memory limit of each server, in MB.")


def default_limits(cpus: float, memory_mb: int) -> Limits:
    """Servers get the last CPU(s); CPU 0 stays for labctl's probe or load generator.

    On a one-core machine nothing can be separated, and the limit alone applies.
    """
    cores = hostinfo.usable_cores()
    whole = max(1, int(-(-cpus // 1)))   # cores to pin to: the limit rounded up
    if cores >= 2 and whole < cores:
        first = cores - whole
        cpuset = ",".join(str(c) for c in range(first, cores))
        return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=cpuset)
    return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=None)


def prepare_runtime(name: str | None) -> Runtime:
    """Select the runtime and arrange for SIGTERM to clean up like Ctrl-C. (Orphans of a killed
    labctl were already reaped by the root command, see ``labctl.runtime.reaper``.)"""
    install_termination_handler()
    return runtimes.select(name, announce=ui.info)


@contextmanager
def build_status(title: str) -> Iterator:
    """A spinner on stderr showing the build step in progress; returns the line callback."""
    with ui.err().status(title) as status:
        def on_line(line: str) -> None:
            if line.startswith("Step ") or line.startswith("---> Running"):
                status.update(f"{title}: {line[:100]}")

        def on_phase(text: str) -> None:
            status.update(text)

        yield on_line, on_phase
