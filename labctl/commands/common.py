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
    from labctl import hostinfo
    from labctl.runtime.base import Limits

    cores = hostinfo.usable_cores()
    whole = max(1, int(-(-cpus // 1)))   # cores to pin to: the limit rounded up
    if cores >= 2 and whole < cores:
        first = cores - whole
        cpuset = ",".join(str(c) for c in range(first, cores))
        return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=cpuset)
    return Limits(cpus=cpus, memory_mb=memory_mb, cpuset=None)


def prepare_runtime(name: str | None) -> Runtime:
    """Select the runtime, arrange for SIGTERM to clean up like Ctrl-C, and reap orphans.

    ``name`` is a ``RuntimeChoice`` (a str) or None: not given, so LABCTL_RUNTIME or auto.
    """
    from labctl import runtime as runtimes
    from labctl.runtime.lifecycle import install_termination_handler

    install_termination_handler()
    runtime = runtimes.select(name, announce=ui.info)
    reaped = runtime.reap_orphans()
    if reaped:
        ui.info(f"removed {len(reaped)} server(s) left by a labctl that no longer runs: "
                + ", ".join(reaped))
    return runtime


@contextmanager
def build_status(title: str) -> Iterator[tuple[Callable[[str], None], Callable[[str], None]]]:
    """A spinner on stderr showing the build step in progress; yields the line and phase
    callbacks."""
    with ui.err().status(title) as status:
        def on_line(line: str) -> None:
            if line.startswith("Step ") or line.startswith("---> Running"):
                status.update(f"{title}: {line[:100]}")

        def on_phase(text: str) -> None:
            status.update(text)

        yield on_line, on_phase
