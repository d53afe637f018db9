"""Which CPUs a server and labctl's own client (probe or load generator) run on.

On a machine with two or more cores, servers are pinned to the last CPU(s) and everything that
sends requests to them to the others, so the client's work never steals the server's time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from labctl.runtime.base import Limits


def parse_cpuset(cpuset: str | None) -> set[int]:
    """"0-2,5" → {0, 1, 2, 5}; None or "" → an empty set."""
    cpus: set[int] = set()
    for part in (cpuset or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def format_cpuset(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


# Set when the servers run on an engine on another machine: CPU sets then name that machine's
# CPUs (0 … NCPU-1, as its engine reports them), not this one's.
_engine_cpu_count: int | None = None


# Likewise the remote engine's memory, which --memory is checked against.
_engine_memory_mb: int | None = None


def use_engine_cpus(count: int | None, memory_mb: int | None = None) -> None:
    """Pin servers and clients within the remote engine's ``count`` CPUs from now on, and check
    memory limits against its ``memory_mb``."""
    global _engine_cpu_count, _engine_memory_mb
    _engine_cpu_count = count
    _engine_memory_mb = memory_mb


def engine_elsewhere() -> bool:
    """Do CPU sets and limits name a remote engine's machine rather than this one?"""
    return bool(_engine_cpu_count)


def engine_memory_mb() -> int | None:
    """The remote engine's memory, when the servers run on one that said; else None."""
    return _engine_memory_mb if _engine_cpu_count else None


def usable_cpus() -> set[int]:
    """The CPUs servers and clients may be pinned to: this machine's, or the remote engine's."""
    if _engine_cpu_count:
        return set(range(_engine_cpu_count))
    return local_cpus()


def local_cpus() -> set[int]:
    """The CPUs of this machine this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def client_cpuset(server_limits: Limits) -> str | None:
    """Every usable CPU the server is not pinned to.

    None when they cannot be separated (one core, or the server may use every CPU): then client
    and server share CPUs, and the results say so.
    """
    server = parse_cpuset(server_limits.cpuset)
    if not server:
        return None
    client = usable_cpus() - server
    return format_cpuset(client) if client else None


def cores(count: float) -> str:
    """"1 core", "2 cores", "0.5 cores"."""
    return f"{count:g} core" + ("" if count == 1 else "s")


def describe_cpus(cpuset: str | None) -> str:
    if cpuset is None:
        return "any CPU (shared with the server)"
    count = len(parse_cpuset(cpuset))
    return f"CPU{'s' if count > 1 else ''} {cpuset}"


def pin_child(cpuset: str | None):
    """A ``preexec_fn`` that pins a child process to ``cpuset``; None where that cannot be done
    (no cpuset, or an OS without sched_setaffinity, such as macOS)."""
    wanted = parse_cpuset(cpuset)
    if not wanted or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, wanted)


@contextmanager
def pinned(cpuset: str | None) -> Iterator[str | None]:
    """Run this process (labctl's in-process probe) on ``cpuset`` for the block, then restore."""
    wanted = parse_cpuset(cpuset)
    if not wanted or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, wanted)
    try:
        yield cpuset
    finally:
        os.sched_setaffinity(0, before)


def usable_cores() -> int:
    """How many CPUs this process may run on (its affinity), not how many the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def total_memory_mb() -> int | None:
    """Physical memory in MB, or None where the OS does not say (the check is then skipped)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return None
