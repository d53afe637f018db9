"""Where the Docker engine is: on this machine, or on another one.

It decides where labctl measures from. An engine on this machine shares its network with labctl,
so the in-process probe reaches a container's bridge IP directly. An engine elsewhere (a cloud
VM behind ``ssh://``, a ``tcp://`` address, a Docker context pointing at either) does not: its
bridge IPs exist only on that machine, so the probe has to run there, in a container next to
the server.

The endpoint is found the way the docker CLI and the docker SDK (≥ 7.2) find it: an explicit
context (``labctl --context``) first, then ``DOCKER_HOST``, then ``DOCKER_CONTEXT``, then the
current context in ``~/.docker/config.json``, then the default socket. ``ssh://`` counts as
remote even towards 127.0.0.1: whatever is at the other end of ssh may be another machine or
namespace, and the in-engine path is the one that works for both.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
# Forces where the probe runs: "engine" (in a container next to the server) or "here".
MEASURE_ON_VARIABLE = "LABCTL_MEASURE_ON"
# --client-context (labctl/runtime/client_engine.py): the variable that overrides the address
# servers publish on for the client engine, and the path kind of figures measured across the two.
SERVER_ADDRESS_VARIABLE = "LABCTL_SERVER_ADDRESS"
CLIENT_ENGINE_PATH_KIND = "between-engines"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class EngineLocation:
    endpoint: str            # e.g. "ssh://root@vm", "unix:///var/run/docker.sock"
    remote: bool             # True: the engine's containers are not reachable from here
    machine: str             # for people: "this machine", or the host named in the endpoint
    context: str | None = None   # the Docker context it came from, if any
    source: str = "default"      # "--context", "DOCKER_HOST", "DOCKER_CONTEXT", "current context"

    @property
    def measure_on_engine(self) -> bool:
        forced = os.environ.get(MEASURE_ON_VARIABLE, "").strip().lower()
        if forced in {"engine", "here"}:
            return forced == "engine"
        return self.remote

    @property
    def engine_phrase(self) -> str:
        """"engine 10.0.0.5" or "this machine's engine", to say where something ran."""
        return f"engine {self.machine}" if self.remote else "this machine's engine"

    def describe(self) -> str:
        where = f"on {self.machine}" if self.remote else "on this machine"
        via = f"context {self.context}" if self.context else self.source
        return f"{where} ({self.endpoint}, from {via})"

    def as_dict(self) -> dict:
        return {"endpoint": self.endpoint, "remote": self.remote, "machine": self.machine,
                "context": self.context, "source": self.source,
                "measure_on_engine": self.measure_on_engine}


def classify(endpoint: str) -> tuple[bool, str]:
    """(remote?, machine name for people) for a Docker endpoint URL."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme in {"unix", "npipe", "fd", ""}:
        return False, "this machine"
    host = parts.hostname or ""
    if scheme == "ssh":
        return True, host or endpoint
    if scheme in {"tcp", "http", "https"}:
        if _is_loopback(host):
            return False, "this machine"
        return True, host or endpoint
    return True, host or endpoint   # an unknown scheme: do not assume its bridge is ours


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def locate(environ: Mapping[str, str] | None = None, context: str | None = None,
           *, context_endpoint=None) -> EngineLocation:
    """Where the engine labctl will talk to is. ``context_endpoint(name)`` returns a context's
    docker endpoint (None: no such context; name None: the current one); tests pass their own."""
    env = os.environ if environ is None else environ
    lookup = context_endpoint or _context_endpoint
    if context:
        endpoint = lookup(context)
        if endpoint is None:
            from labctl.errors import UsageProblem

            raise UsageProblem(f"no Docker context named {context!r}",
                               "List them with `docker context ls`")
        return _location(endpoint, context=context, source="--context")
    host = env.get("DOCKER_HOST")
    if host:
        return _location(host, source="DOCKER_HOST")
    named = env.get("DOCKER_CONTEXT")
    if named:
        endpoint = lookup(named)
        if endpoint:
            return _location(endpoint, context=named, source="DOCKER_CONTEXT")
    current, endpoint = _current(lookup)
    if endpoint and current not in {None, "default"}:
        return _location(endpoint, context=current, source="current context")
    return _location(endpoint or DEFAULT_ENDPOINT, source="default")


def _location(endpoint: str, *, context: str | None = None, source: str) -> EngineLocation:
    remote, machine = classify(endpoint)
    return EngineLocation(endpoint=endpoint, remote=remote, machine=machine, context=context,
                          source=source)


def _current(lookup) -> tuple[str | None, str | None]:
    try:
        from docker.context.config import get_current_context_name
    except ImportError:
        return None, None
    try:
        name = get_current_context_name()
    except Exception:  # noqa: BLE001 - an unreadable config.json: the default socket
        return None, None
    return name, lookup(name)


def _context_endpoint(name: str | None) -> str | None:
    """A Docker context's engine endpoint, through the docker SDK's context API."""
    try:
        from docker.context import ContextAPI
    except ImportError:
        return None
    try:
        found = ContextAPI.get_context(name)
    except Exception:  # noqa: BLE001 - a broken context store reads as "no such context"
        found = None
    if found is None:
        return _context_endpoint_from_store(name) if name not in {None, "default"} else None
    return found.Host or DEFAULT_ENDPOINT


def _context_endpoint_from_store(name: str) -> str | None:
    """A context's endpoint read from the docker CLI's store directly.

    The docker SDK looks for contexts next to ``config.json`` and finds none when that file does
    not exist, which is the case right after ``docker context create`` on a fresh machine (the
    CLI creates the context, not the file). The store is ``$DOCKER_CONFIG`` (or ``~/.docker``)
    ``/contexts/meta/<sha256 of the name>/meta.json``."""
    import hashlib
    import json
    from pathlib import Path

    config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    meta = (config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
            / "meta.json")
    try:
        document = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if document.get("Name") != name:
        return None
    endpoint = (document.get("Endpoints") or {}).get("docker") or {}
    return endpoint.get("Host") or DEFAULT_ENDPOINT


def use_context(name: str) -> None:
    """Make every docker client of this process talk to context ``name`` (``labctl --context``).

    Like the docker CLI's ``--context``, it wins over DOCKER_HOST."""
    locate(context=name)   # a wrong name is one clear error before anything connects
    os.environ.pop("DOCKER_HOST", None)
    os.environ["DOCKER_CONTEXT"] = name
