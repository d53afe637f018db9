"""The runtime boundary: what every way of running a server (Docker, native processes) provides.

Commands talk only to this interface, so `run`, `verify`, `compare` and `load` work unchanged on
every runtime; a runtime differs in how it builds and starts a server, never in what is measured.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labctl.servers import Server

# One id per labctl process: every container or process it starts carries it, so `down` and the
# reaper can tell this run's servers from another labctl's.
SESSION_ID = secrets.token_hex(4)

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class Limits:
    """CPU and memory each server may use. The same for every server in a comparison."""

    cpus: float = 1.0
    memory_mb: int = 512
    cpuset: str | None = None   # which CPUs, e.g. "1"; None lets the OS place it

    def as_dict(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "memory_mb": self.memory_mb, "cpuset": self.cpuset}


@dataclass
class BuildInfo:
    """What preparing a server produced: an image or a native build."""

    artifact: str                  # image tag, or path of the build product
    built: bool                    # False: an up-to-date artifact was reused
    seconds: float                 # time spent in this call (near zero when reused)
    size_bytes: int | None = None  # image or build-product size
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "built": self.built, "seconds": round(self.seconds, 3),
                "size_bytes": self.size_bytes, **self.details}


@dataclass
class Instance:
    """A running server."""

    server: Server
    ident: str                  # container id or process id
    url: str                    # where labctl measures it
    public_url: str             # where a learner reaches it from this machine (curl, browser)
    path: str                   # how labctl reaches it, for people: "bridge IP 172.17.0.2:8080"
    path_kind: str              # "bridge" | "published-port" | "loopback" | "engine-bridge"
                                # | "between-engines" (a client on another engine)
    limits: Limits
    started_at: float           # time.monotonic() when the start was requested
    cold_start_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime(abc.ABC):
    name: str

    @abc.abstractmethod
    def check(self) -> None:
        """Raise EnvironmentProblem (one line, with a fix) when this runtime cannot work here."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Versions and facts stored with every result (engine version, toolchains…)."""

    @abc.abstractmethod
    def prepare(self, server: Server, progress: ProgressCallback | None = None,
                *, rebuild: bool = False) -> BuildInfo:
        """Build the server (or reuse an up-to-date build)."""

    @abc.abstractmethod
    def start(self, server: Server, limits: Limits, *, keep: bool = False,
              env: dict[str, str] | None = None, instance: str = "") -> Instance:
        """Start the server and return once the engine or OS has started it (not yet healthy).

        ``instance``: a suffix naming a second copy of the same server running beside the first
        (the proxy lab's rolling restart puts two behind nginx).

        ``env``: extra environment variables, the switches a lab flips (a parser, timeouts off).
        """

    @abc.abstractmethod
    def is_running(self, instance: Instance) -> bool: ...

    @abc.abstractmethod
    def logs(self, instance: Instance, tail: int = 40) -> str: ...

    @abc.abstractmethod
    def stop(self, instance: Instance, grace_s: float | None = None) -> None:
        """Stop and remove; never raises for something already gone. ``grace_s``: how long
        SIGTERM may take before SIGKILL (the runtime's short default when None; the shutdown
        lab passes Docker's own 10 s)."""

    @abc.abstractmethod
    def idle_memory_bytes(self, instance: Instance) -> int | None: ...

    @abc.abstractmethod
    def reap_orphans(self) -> list[str]:
        """Remove what a labctl process that no longer exists left running; return their names."""

    @abc.abstractmethod
    def down(self, session: str | None = None) -> list[str]:
        """Remove everything labctl started on this machine (kept ones included); with
        ``session``, only what the labctl run with that session id started."""

    @abc.abstractmethod
    def logs_of_kept(self, server: Server, tail: int) -> str: ...
