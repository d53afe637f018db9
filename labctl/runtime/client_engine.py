"""Client and servers on two Docker engines: ``--client-context NAME`` (or LABCTL_CLIENT_CONTEXT).

The servers run on the engine labctl talks to (``--context``, DOCKER_HOST, the current context);
the libcurl probe and the load generator run as containers on the engine of context NAME, as a
benchmark keeps its load generator off the server's machine. A container on that engine cannot
reach the servers' bridge IPs (they exist only on the server engine's machine), nor the server
engine host's 127.0.0.1, so two things change:

- Each server publishes its port on ONE address of the server engine's host: the address the
  client engine reaches it at, never 0.0.0.0. It is, in this order: LABCTL_SERVER_ADDRESS when
  set; the host named in the server engine's endpoint (``ssh://learner@10.0.0.5`` → 10.0.0.5);
  or, when the server engine runs on this machine (a local socket, or an endpoint on loopback),
  this machine's own address toward its network (the source address of its default route).
  labctl says which, in one line, before anything starts: while the servers run they can be
  reached on that address by anything on that network.
- Every figure the client takes then includes the network between the two engines and the
  published port's proxy on the server's host. Every result says so (``between_engines``) and
  records both engines: names, versions, CPUs.

Cold starts are still timed where the servers run (as without this option): they are the
servers' own start-up, not the network's.

When both names lead to one engine (the same engine ID, e.g. a local socket and an ssh context
to the same machine), client and servers keep to separate CPUs as on one machine. On two
machines the client may use every CPU of its own engine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from labctl.errors import UsageProblem
from labctl.runtime import cpus, engine
from labctl.runtime.engine import SERVER_ADDRESS_VARIABLE

if TYPE_CHECKING:
    from labctl.runtime.base import Limits, Runtime
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.engine import EngineLocation

# A documentation address (RFC 5737): "connecting" a UDP socket to it sends nothing, but makes the
# kernel pick the source address of the default route, which is this machine's address toward
# its network.
_ROUTE_PROBE = ("192.0.2.1", 9)


@dataclass(frozen=True)
class ServerAddress:
    """Where the servers publish their ports, and how labctl came to that address."""

    address: str      # an IP address of the server engine's host
    source: str       # for people: "LABCTL_SERVER_ADDRESS", "the host in ssh://…", …

    def url(self, port: str | int) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{port}"


def _resolve(name: str) -> str | None:
    """The first address ``name`` resolves to here (an IP literal is its own answer)."""
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None
    return str(found[0][4][0]) if found else None


def _outward_address() -> str | None:
    """This machine's address toward its network: the default route's source address, else the
    first non-loopback address its host name resolves to; None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            address = probe.getsockname()[0]
            if not ipaddress.ip_address(address).is_loopback:
                return str(address)
        except OSError:
            pass
    try:
        candidates = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None
    for *_, sockaddr in candidates:
        address = str(sockaddr[0])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return None


def _own_address(address: str) -> bool:
    """Is ``address`` one of this machine's? (Binding to it works only then.)"""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def _usable(address: str, what: str) -> str:
    """``address`` if a container on another engine can reach it there; else one clear error."""
    ip = ipaddress.ip_address(address)
    fix = (f"Set {SERVER_ADDRESS_VARIABLE} to the address of the server engine's host that the "
           "client engine reaches (e.g. its private IP)")
    if ip.is_unspecified:
        raise UsageProblem(f"{what} is {address}, which would publish the servers on every "
                           "interface of their host", fix)
    if ip.is_loopback:
        raise UsageProblem(f"{what} is {address}, a loopback address: containers on the client "
                           "engine cannot reach it", fix)
    return str(ip)


def decide_server_address(server: EngineLocation, environ: Mapping[str, str] | None = None, *,
                          resolve: Callable[[str], str | None] | None = None,
                          outward: Callable[[], str | None] | None = None,
                          own: Callable[[str], bool] | None = None) -> ServerAddress:
    """The address the servers publish on for a client on another engine (module docstring).
    ``resolve`` (a name → its address here), ``outward`` (this machine's address toward its
    network) and ``own`` (is an address this machine's?) ask this machine unless a test passes
    its own."""
    env = os.environ if environ is None else environ
    resolve = resolve or _resolve
    outward = outward or _outward_address
    own = own or _own_address
    host = urlsplit(server.endpoint).hostname if server.remote else None
    here = not server.remote or bool(host and _loopback(resolve(host)))
    given = env.get(SERVER_ADDRESS_VARIABLE, "").strip()
    if given:
        address = resolve(given)
        if address is None:
            raise UsageProblem(f"{SERVER_ADDRESS_VARIABLE}={given} does not resolve to an address",
                               "Give an IP address of the server engine's host")
        address = _usable(address, f"{SERVER_ADDRESS_VARIABLE}={given}")
        if here and not own(address):
            # Checked now, not left to the engine: without its userland proxy an engine
            # publishes on any address, and the client would find nothing there.
            raise UsageProblem(f"{SERVER_ADDRESS_VARIABLE}={given} is not an address of this "
                               "machine, where the server engine runs",
                               "Give one of its addresses (see `ip -brief address`)")
        return ServerAddress(address, f"from {SERVER_ADDRESS_VARIABLE}")
    if host:
        address = resolve(host)
        if address is None:
            raise UsageProblem(
                f"the server engine's host {host!r} (from {server.endpoint}) does not resolve "
                "to an address here (an ssh alias?)",
                f"Set {SERVER_ADDRESS_VARIABLE} to the IP address of that host which the client "
                "engine reaches")
        if not ipaddress.ip_address(address).is_loopback:
            return ServerAddress(_usable(address, f"the server engine's host {host}"),
                                 f"the server engine's host, from {server.endpoint}")
    elif server.remote:
        raise UsageProblem(f"labctl cannot tell the server engine's host from {server.endpoint}",
                           f"Set {SERVER_ADDRESS_VARIABLE} to its IP address")
    # The server engine runs on this machine (a local socket, or an endpoint on loopback).
    address = outward()
    if address is None:
        raise UsageProblem("this machine has no address but loopback for the client engine to "
                           "reach its servers at",
                           f"Set {SERVER_ADDRESS_VARIABLE} to one of its addresses")
    return ServerAddress(_usable(address, "this machine's address"),
                         "this machine's address on its default route, where the server "
                         "engine runs")


def _loopback(address: str | None) -> bool:
    return address is not None and ipaddress.ip_address(address).is_loopback


@dataclass
class ClientEngine:
    """The engine the probe and the load generator run on, and how they reach the servers."""

    runtime: DockerRuntime          # a DockerRuntime talking to the client context's engine
    context: str
    server_address: ServerAddress
    same_engine: bool               # both names lead to one engine (the same engine ID)
    server_facts: dict[str, Any]
    client_facts: dict[str, Any]

    @property
    def phrase(self) -> str:
        """"engine 10.0.0.7 (context lan)", to say where the client ran."""
        return f"{self.runtime.location.engine_phrase} (context {self.context})"

    def cpuset(self, server_limits: Limits) -> str | None:
        """The CPUs the client is pinned to: apart from the server's on one engine, every CPU
        of its own engine on another machine (None when that engine does not say)."""
        if self.same_engine:
            return cpus.client_cpuset(server_limits)
        count = self.client_facts.get("cpus")
        return cpus.format_cpuset(set(range(count))) if count else None

    def note(self) -> str:
        text = (f"every figure includes the network between two Docker engines: the client ran "
                f"on {self.phrase} and reached the servers at {self.server_address.address}, on "
                f"ports published on the server engine's host "
                f"({self.runtime_phrase(self.server_facts)})")
        if self.same_engine:
            text += ("; both contexts lead to one engine here, so that network is this "
                     "machine's own, through the published ports' proxy")
        return text + "; cold starts were timed where the servers run, without it"

    @staticmethod
    def runtime_phrase(facts: dict[str, Any]) -> str:
        where = facts.get("machine") or "?"
        via = f"context {facts['context']}" if facts.get("context") else facts.get("endpoint")
        return f"{where}, {via}"

    def as_dict(self) -> dict[str, Any]:
        """The ``between_engines`` part of every result."""
        return {"note": self.note(), "server_address": self.server_address.address,
                "server_address_from": self.server_address.source,
                "same_engine": self.same_engine,
                "server_engine": self.server_facts, "client_engine": self.client_facts}

    def announcement(self) -> str:
        source = self.server_address.source
        if SERVER_ADDRESS_VARIABLE not in source:
            source += f" ({SERVER_ADDRESS_VARIABLE} overrides)"
        return (f"client on {self.phrase}; servers publish on {self.server_address.address}, "
                f"{source}, reachable from that network while they run; every figure includes "
                "the network between the two engines")


def validate_context(name: str) -> EngineLocation:
    """The client context's location; a wrong name is one line and exit status 2."""

    try:
        return engine.locate(context=name)
    except UsageProblem as problem:
        problem.message = f"--client-context: {problem.message}"
        raise


def attach(runtime: Runtime, name: str) -> ClientEngine:
    """Make ``runtime``'s servers publish for, and be measured from, context ``name``."""
    from labctl.runtime.docker import DockerRuntime

    location = validate_context(name)
    server_runtime = runtime.container_engine()
    if server_runtime is not runtime or server_runtime is None:
        raise UsageProblem("--client-context needs the servers in Docker, not local processes",
                           "Use --runtime docker, or drop --client-context")
    address = decide_server_address(server_runtime.location)
    client_runtime = DockerRuntime(location=location)
    client_runtime.check()
    server_facts = server_runtime.engine_facts()
    client_facts = client_runtime.engine_facts()
    same = bool(server_facts.get("id")) and server_facts.get("id") == client_facts.get("id")
    found = ClientEngine(runtime=client_runtime, context=name, server_address=address,
                         same_engine=same, server_facts=server_facts, client_facts=client_facts)
    server_runtime.client_engine = found
    server_runtime.publish_address = address.address
    return found


def of(runtime: Runtime) -> ClientEngine | None:
    """The client engine ``runtime``'s servers are measured from, if another one."""
    return runtime.client_engine


def client_cpus(runtime: Runtime, server_limits: Limits) -> str | None:
    """The CPUs labctl's client (probe, load generator) is pinned to for a server with these
    limits: apart from the server's, or, with a client engine on another machine, all of its."""
    found = of(runtime)
    return found.cpuset(server_limits) if found else cpus.client_cpuset(server_limits)
