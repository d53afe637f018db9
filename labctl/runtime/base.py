"""The runtime boundary: what every way of running a server (Docker, native processes) provides.

Everything above ``labctl.runtime`` talks only to this interface, so `run`, `verify`, `compare`,
`load` and the labs work unchanged on every runtime; a runtime differs in how it builds and starts
a server, never in what is measured. What callers need to know about where the servers are (an
engine elsewhere, a client on another engine) is declared here too, so no caller asks which
runtime it has.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labctl.servers import Server

if TYPE_CHECKING:
    from labctl.results.documents import LimitsPart
    from labctl.runtime.client_engine import ClientEngine
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.engine import EngineLocation
    from labctl.runtime.probe_container import ProbeContainer

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

    def as_dict(self) -> LimitsPart:
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
    # How a stop is done, in words stored with the shutdown lab's results.
    stop_description = "SIGTERM to the process group, SIGKILL after grace_s"
    # Whether preparing again with rebuild=True is a cached rebuild worth timing (image layers).
    has_build_cache = False
    # A client on another Docker engine (``--client-context``) that measures these servers.
    client_engine: ClientEngine | None = None

    @property
    def location(self) -> EngineLocation | None:
        """Where the engine running the servers is; None for servers on this machine."""
        return None

    def measures_on_engine(self) -> bool:
        """True when the servers' addresses exist only on an engine's machine elsewhere, so every
        client (probe, load generator) must run in a container next to them."""
        return False

    def engine_cpus(self) -> int | None:
        """How many CPUs the machine running the servers has, when that is an engine's machine
        (not this one's when it is elsewhere); None where this machine's own count applies."""
        return None

    def engine_memory_mb(self) -> int | None:
        """The memory of the engine's machine in MB, like ``engine_cpus``."""
        return None

    def probe_container(self) -> ProbeContainer | None:
        """labctl's probe as a container on this runtime's engine, where the servers can only be
        reached from there (``measures_on_engine``); None when the probe runs here."""
        return None

    def container_engine(self) -> DockerRuntime | None:
        """The Docker engine this runtime runs containers on (for load-generator containers), or
        None for a runtime without one."""
        return None

    def server_sockets(self, instance: Instance) -> tuple[int, int] | None:
        """(process id as this machine sees it, port it listens on inside its network
        namespace): where /proc/PID/net/tcp shows the server's own sockets (the overload lab's
        view of the kernel's queues). None when they cannot be read from here."""
        return None

    def wait_healthy(self, instance: Instance, timeout_s: float) -> float:
        """Poll ``GET /health`` until it answers 200; milliseconds since the start request."""
        from labctl.runtime.health import poll_until_healthy

        return poll_until_healthy(self, instance, timeout_s)

    @abc.abstractmethod
    def check(self) -> None:
        """Raise EnvironmentProblem (one line, with a fix) when this runtime cannot work here."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Versions and facts stored with every result (engine version, toolchains…)."""

    def check_server(self, server: Server) -> None:  # noqa: B027 - optional, no-op by default
        """Raise EnvironmentProblem (one line, with a fix) when ``server`` cannot be built here
        (a missing toolchain), without building anything: a command that builds several servers
        asks for all of them first, so nobody waits through three builds to learn that the
        fourth cannot be done. Nothing to check by default (an engine builds in its own images)."""

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
