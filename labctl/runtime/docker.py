"""Running the servers in Docker, through the Docker SDK for Python (never the docker CLI).

Design points, each measured on a 2-core Linux machine (see the project's measurement notes):
- Measure over the container's bridge IP when the host can reach it (Linux): a published port
  goes through docker-proxy, which adds about 80 µs to every new connection — more than the Go
  server's whole response. Fall back to the published port elsewhere, and say which was used.
- Publish on 127.0.0.1 only, on a port the engine picks, so two labctl runs never collide. (With a
  client on another engine, ``--client-context``, on the one address that engine reaches this
  one's host at: see labctl/runtime/client_engine.py.)
- Label everything: ``labctl`` (ours), the session id, the server name, the owning process id.
  Anything whose owning labctl process is gone is reaped by the next command.
"""

from __future__ import annotations

import collections
import math
import os
import platform
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labctl import __version__, config
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.runtime import engine
from labctl.runtime.base import (
    SESSION_ID,
    BuildInfo,
    Instance,
    Limits,
    ProgressCallback,
    Runtime,
)
from labctl.runtime.cgroup_memory import container_memory_bytes
from labctl.runtime.engine import CLIENT_ENGINE_PATH_KIND, SERVER_ADDRESS_VARIABLE, EngineLocation
from labctl.runtime.probe_container import ProbeContainer
from labctl.runtime.process import owner_alive, start_time
from labctl.runtime.sourcehash import hash_tree
from labctl.servers import Server

if TYPE_CHECKING:
    from labctl.runtime.client_engine import ClientEngine

CONTAINER_PORT = 8080
LABEL = "labctl"
LABEL_SESSION = "labctl.session"
LABEL_SERVER = "labctl.server"
LABEL_PID = "labctl.pid"
LABEL_PID_STARTED = "labctl.pid-started"
LABEL_HOST = "labctl.host"
LABEL_KEEP = "labctl.keep"
LABEL_ROLE = "labctl.role"       # helper containers: "loadgen", "probe"
# This machine's systemd/D-Bus machine id: host names repeat ("ubuntu", "localhost") across the
# machines that may share one remote engine; the pair tells whose process table a pid belongs to.
LABEL_MACHINE = "labctl.machine"
ENGINE_PATH_KIND = "engine-bridge"   # measured from a container next to the server
HEALTH_WATCH_TIMEOUT_S = 60.0
LABEL_SOURCE_HASH = "org.labctl.source-hash"
BUILD_TAIL_LINES = 30
STOP_GRACE_S = 3
# Skipped when hashing a server's source: build products a learner may have made by hand.

_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")

# Every labctl container (the four servers, a learner's own server, the wrk load generator) gets no
# more than an HTTP server needs, whatever its image says — CIS Docker Benchmark 5.3, 5.12, 5.25,
# 5.28 and 4.1:
# - its root filesystem read-only, with a small non-executable tmpfs on /tmp for what a stack
#   writes at run time (SQLite's temporary files, a runtime's scratch space);
# - no Linux capabilities at all (binding 8080 needs none), and no way to gain any back through
#   setuid binaries (no-new-privileges);
# - a cap on the number of processes and threads, so a fork bomb or a runaway thread pool stops
#   there rather than taking the host down (Python's thread pool and tokio's blocking pool stay
#   far below it);
# - a non-root user (the images set it too; forcing it here covers images labctl did not write);
# - its published port on 127.0.0.1 only (see ``start``), never on the machine's other addresses.
CONTAINER_USER = "10001:10001"
PIDS_LIMIT = 256
TMPFS_SIZE = "16m"
HARDENING: dict[str, Any] = {
    "read_only": True,
    "tmpfs": {"/tmp": f"rw,noexec,nosuid,nodev,size={TMPFS_SIZE}"},
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": PIDS_LIMIT,
    "user": CONTAINER_USER,
}


def isolation_summary() -> list[str]:
    """What ``HARDENING`` enforces, in words (for ``labctl doctor``)."""
    return [f"read-only root filesystem, /tmp a {TMPFS_SIZE} tmpfs (noexec)",
            "all capabilities dropped, no-new-privileges",
            f"at most {PIDS_LIMIT} processes/threads, memory and CPU capped (--memory, --cpus)",
            f"runs as uid {CONTAINER_USER.split(':')[0]} (not root)",
            "port published on 127.0.0.1 only (with --client-context: on the one address "
            "the client engine reaches)"]


@dataclass(frozen=True)
class ToolRun:
    """What a helper container left behind: its exit status and its two output streams."""

    exit_status: int
    stdout: str
    stderr: str


def _docker_module():
    import docker  # imported lazily: `labctl lessons` should not pay for it

    return docker


class DockerRuntime(Runtime):
    def __init__(self, location=None) -> None:
        """``location``: an engine of its own (a client context's), instead of the one
        ``--context``, DOCKER_HOST or the current context name."""
        self._client = None
        self._bridge_reachable: bool | None = None
        self._location = location
        self._explicit_location = location is not None
        self._probe_container: ProbeContainer | None = None
        # Where published ports listen: this host's loopback, unless a client on another engine
        # must reach them (client_engine.attach sets both).
        self.publish_address = "127.0.0.1"
        self.client_engine: ClientEngine | None = None
        # Servers started by this runtime → their image, asked for its runtime version when a
        # result is described (after the measurement, so asking never competes with it).
        self._started_images: dict[str, tuple[str, str]] = {}
        self._versions_by_image: dict[str, dict[str, Any]] = {}

    name = "docker"
    stop_description = "docker stop (SIGTERM, SIGKILL after grace_s)"
    has_build_cache = True

    @property
    def location(self) -> EngineLocation:
        """Where the engine is (labctl.runtime.engine): decides whether the probe runs here or there."""
        if self._location is None:
            self._location = engine.locate()
        return self._location

    def measures_on_engine(self) -> bool:
        return self.location.measure_on_engine

    def probe_container(self) -> ProbeContainer | None:
        """The probe next to the servers, where only the engine's machine reaches them."""
        return self.own_probe_container() if self.measures_on_engine() else None

    def own_probe_container(self) -> ProbeContainer:
        """The probe image and containers on this runtime's own engine, wherever it is (one per
        runtime: the image is checked once)."""
        if self._probe_container is None:
            self._probe_container = ProbeContainer(self, self.location.engine_phrase)
        return self._probe_container

    def container_engine(self) -> DockerRuntime:
        return self

    def tool_labels(self, role: str) -> dict[str, str]:
        """The labels of one of labctl's own containers (probe, load generator) started here."""
        return {**labels_for(role), LABEL_ROLE: role}

    def discard(self, container) -> None:
        """Remove one of labctl's containers; never raises for one already gone."""
        remove_container(container)

    def wait_healthy(self, instance: Instance, timeout_s: float) -> float:
        # A server whose bridge only the engine's machine reaches is polled from next to it.
        if instance.extra.get("health_path_kind", instance.path_kind) == ENGINE_PATH_KIND:
            return self.wait_healthy_on_engine(instance, timeout_s)
        return super().wait_healthy(instance, timeout_s)

    def engine_cpus(self) -> int | None:
        """How many CPUs the engine's machine has (not this one's, when it is elsewhere)."""
        try:
            return int(self.client.info().get("NCPU") or 0) or None
        except Exception:  # noqa: BLE001 - a fact for display; an engine that hiccups has none
            return None

    def engine_memory_mb(self) -> int | None:
        """The memory of the engine's machine in MB (not this one's, when it is elsewhere)."""
        try:
            return int(self.client.info().get("MemTotal") or 0) // (1024 * 1024) or None
        except Exception:  # noqa: BLE001 - a fact for a limit check; none skips the check
            return None

    def engine_facts(self) -> dict[str, Any]:
        """Where the engine is, what it is, and its machine's name and CPUs, for results."""
        info = self.client.info()
        version = self.client.version()
        return {**self.location.as_dict(), "name": info.get("Name"), "id": info.get("ID"),
                "version": version.get("Version"), "api_version": version.get("ApiVersion"),
                "os": version.get("Os"), "cpus": int(info.get("NCPU") or 0) or None}

    # -- connection -----------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = connect(self._location if self._explicit_location else None)
        return self._client

    def check(self) -> None:
        self.client  # noqa: B018 - connecting is the check

    def describe(self) -> dict[str, Any]:
        version = self.client.version()
        info = self.client.info()
        return {
            "runtime": "docker",
            "engine_version": version.get("Version"),
            "api_version": version.get("ApiVersion"),
            "os": version.get("Os"),
            "docker_sdk": _docker_module().__version__,
            # Which engine, not only how it was reached: a saved result names the machine its
            # figures came from (an endpoint such as ssh://vm can point elsewhere tomorrow).
            "engine": {**self.location.as_dict(), "name": info.get("Name"), "id": info.get("ID"),
                       "cpus": int(info.get("NCPU") or 0) or None},
            **({"servers_ran": self.servers_ran()} if self._started_images else {}),
        }

    def servers_ran(self) -> dict[str, dict[str, Any]]:
        """For each server started so far: the runtime version its image reports (runtime.versions)."""

        ran = {}
        for name, (runtime, image) in self._started_images.items():
            if image not in self._versions_by_image:
                self._versions_by_image[image] = self._ask_image(runtime, image)
            ran[name] = self._versions_by_image[image]
        return ran

    def _ask_image(self, runtime: str, image: str) -> dict[str, Any]:
        """Go and Rust: read the binary the image runs (scratch images have no shell); Node and
        Python: run the image's own interpreter with --version."""
        import tarfile

        from labctl.runtime import versions

        docker = _docker_module()
        try:
            entrypoint = (self.client.images.get(image).attrs.get("Config") or {}).get("Entrypoint") or []
            executable = entrypoint[0] if entrypoint else versions.BINARY
            if runtime in ("go", "rust"):
                binary = file_from_image(self, image, executable, "version-probe") or b""
                found = versions.go_version_of(binary) if runtime == "go" else versions.rust_version_of(binary)
                how = f"read from {executable} in the image"
            else:
                output = self.client.containers.run(image, entrypoint=[executable], command=["--version"],
                                                    remove=True, labels=self.tool_labels("version-probe"),
                                                    network_mode="none")
                found = versions.interpreter_version(output.decode("utf-8", "replace"))
                how = f"{executable} --version in the image"
        except (docker.errors.DockerException, OSError, tarfile.TarError, IndexError) as exc:
            return versions.record(runtime, None, f"could not ask the image: {str(exc)[:120]}")
        return versions.record(runtime, found, how)

    # -- images ---------------------------------------------------------------------------

    def base_images(self, server: Server) -> dict[str, str]:
        return {server.base_image_arg: config.base_image(server.base_image_arg,
                                                         server.default_base_image)}

    def prepare(self, server: Server, progress: ProgressCallback | None = None,
                *, rebuild: bool = False) -> BuildInfo:
        buildargs = self.base_images(server)
        return self.build_image(server.source_dir, server.image_tag, buildargs, progress,
                                rebuild=rebuild, what=server.title, dockerfile=server.dockerfile)

    def build_image(self, context: Path, tag: str, buildargs: dict[str, str],
                    progress: ProgressCallback | None, *, rebuild: bool, what: str,
                    dockerfile: str = "Dockerfile") -> BuildInfo:
        """Build ``context`` as ``tag`` unless an image of the same source and base exists.

        Streams the engine's output (the SDK's low-level ``api.build``) so the user sees each
        step, and keeps the last lines for the error message if a step fails.
        """
        docker = _docker_module()
        source_hash = hash_tree(context, extra=sorted(buildargs.items()))
        existing = self._image_or_none(tag)
        if not rebuild:
            if existing is not None and existing.labels.get(LABEL_SOURCE_HASH) == source_hash:
                return BuildInfo(artifact=tag, built=False, seconds=0.0,
                                 size_bytes=existing.attrs.get("Size"),
                                 details={"image_id": existing.id, "base_images": buildargs})
        tail: collections.deque[str] = collections.deque(maxlen=BUILD_TAIL_LINES)
        current_step = "preparing the build"
        started = time.monotonic()
        try:
            stream = self.client.api.build(
                path=str(context), dockerfile=dockerfile, tag=tag, buildargs=buildargs, decode=True, rm=True,
                forcerm=True, pull=False,
                labels={LABEL: "1", LABEL_SOURCE_HASH: source_hash, "org.labctl.version": __version__},
            )
            for event in stream:
                if "error" in event:
                    raise _build_failure(what, current_step, event["error"], tail, buildargs)
                for line in str(event.get("stream", "") or event.get("status", "")).splitlines():
                    line = line.rstrip()
                    if not line:
                        continue
                    tail.append(line)
                    step = _STEP_RE.match(line)
                    if step:
                        current_step = line
                    if progress:
                        progress(line)
        except docker.errors.APIError as exc:
            raise _build_failure(what, current_step, exc.explanation or str(exc), tail,
                                 buildargs) from None
        seconds = time.monotonic() - started
        image = self.client.images.get(tag)
        if existing is not None and existing.id != image.id:
            self._remove_replaced(existing.id)
        return BuildInfo(artifact=tag, built=True, seconds=seconds,
                         size_bytes=image.attrs.get("Size"),
                         details={"image_id": image.id, "base_images": buildargs})

    def _remove_replaced(self, image_id: str) -> None:
        """Delete the image a rebuild took the tag from, so rebuilds do not pile up untagged
        images. One still used (by a container, or as another image's parent) stays."""
        docker = _docker_module()
        try:
            self.client.images.remove(image_id, noprune=False)
        except docker.errors.APIError:
            pass

    def image_info(self, server: Server) -> dict[str, Any] | None:
        image = self._image_or_none(server.image_tag)
        if image is None:
            return None
        current = hash_tree(server.source_dir, extra=sorted(self.base_images(server).items()))
        return {"tag": server.image_tag, "size_bytes": image.attrs.get("Size"),
                "up_to_date": image.labels.get(LABEL_SOURCE_HASH) == current}

    def missing_base_image(self) -> str | None:
        """The first base image the servers need that this engine neither has nor can pull.

        Pulling here is no extra cost: the first build would pull the same image.
        """
        from labctl import servers

        docker = _docker_module()
        wanted = [config.base_image(s.base_image_arg, s.default_base_image)
                  for s in servers.SERVERS]
        for reference in wanted:
            if self.image_present(reference):
                continue
            try:
                self.client.images.pull(reference)
            except docker.errors.APIError:
                return reference
        return None

    def image_present(self, reference: str) -> bool:
        return self._image_or_none(reference) is not None

    def _image_or_none(self, tag: str):
        docker = _docker_module()
        try:
            return self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None

    # -- containers -----------------------------------------------------------------------

    def start(self, server: Server, limits: Limits, *, keep: bool = False,
              env: dict[str, str] | None = None, instance: str = "",
              image: str | None = None, command: list[str] | None = None) -> Instance:
        labels = labels_for(server.name)
        if keep:
            labels[LABEL_KEEP] = "1"
        docker = _docker_module()
        try:
            container = self.client.containers.create(
                image or server.image_tag,
                command=command,
                name=f"labctl-{server.name}{instance}-{SESSION_ID}",
                labels=labels,
                environment={**(env or {}), "PORT": str(server.port)},
                # Host port None: the engine picks a free one; bound to loopback only, or to
                # the one address a client engine elsewhere reaches (--client-context).
                ports={f"{server.port}/tcp": (self.publish_address, None)},
                nano_cpus=int(limits.cpus * 1e9),
                cpuset_cpus=limits.cpuset,
                mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m",
                detach=True,
                **HARDENING,
            )
        except docker.errors.APIError as exc:   # e.g. limits the engine cannot give
            raise LabctlError(f"the engine refused to create the {server.title} container: "
                              f"{exc.explanation or exc}",
                              "Check --cpus and --memory against `docker info`") from None
        watch = None
        if self.location.measure_on_engine:
            from labctl.runtime import cpus

            watch = self.own_probe_container().start_health_watch(cpus.client_cpuset(limits),
                                                            HEALTH_WATCH_TIMEOUT_S)
        started_at = time.monotonic()
        try:
            container.start()
            container.reload()
        except BaseException as exc:
            container.remove(force=True)
            if watch is not None:
                watch.close()
                remove_container(watch.container)
            if isinstance(exc, docker.errors.APIError) and self.client_engine is not None:
                raise self._publish_refused(exc) from None
            raise
        network = container.attrs["NetworkSettings"]
        binding = (network.get("Ports") or {}).get(f"{server.port}/tcp") or []
        host_port = binding[0]["HostPort"] if binding else None
        published = _host_in_url(self.publish_address)
        public_url = f"http://{published}:{host_port}" if host_port else ""
        bridge_ip = network.get("IPAddress") or _first_network_ip(network)
        if watch is not None:
            watch.send(f"http://{bridge_ip}:{server.port}{server.health_path}")
        if bridge_ip and self.location.measure_on_engine:
            # The engine is elsewhere: its bridge is reached from a probe container beside it.
            url, path, kind = (f"http://{bridge_ip}:{server.port}",
                               f"bridge IP {bridge_ip}:{server.port} from a container next "
                               f"to the server on {self.location.engine_phrase}",
                               ENGINE_PATH_KIND)
        elif bridge_ip and self.bridge_reachable(bridge_ip, server.port):
            url, path, kind = (f"http://{bridge_ip}:{server.port}",
                               f"bridge IP {bridge_ip}:{server.port}", "bridge")
        else:
            url, path, kind = (public_url, f"published port {published}:{host_port} "
                               "(docker-proxy)", "published-port")
        extra = {"container_name": container.name, "bridge_ip": bridge_ip, "host_port": host_port}
        if self.client_engine is not None and host_port:
            # The client is on another engine: it reaches the published port on this engine's
            # host. The cold start is still timed the way chosen above, where the server runs.
            extra["health_url"], extra["health_path_kind"] = url, kind
            url = public_url
            path = (f"published port {published}:{host_port} on the server engine's host, from "
                    f"a container on {self.client_engine.phrase}")
            kind = CLIENT_ENGINE_PATH_KIND
        if watch is not None:
            extra["health_watch"] = watch
        self._note_started(server, container)
        return Instance(server=server, ident=container.id, url=url, public_url=public_url or url,
                        path=path, path_kind=kind, limits=limits, started_at=started_at,
                        extra=extra)

    def _note_started(self, server: Server, container) -> None:
        from labctl.runtime import versions

        runtime = versions.runtime_of(server.language)
        image = (getattr(container, "attrs", None) or {}).get("Image")
        if runtime and image:
            self._started_images[server.name] = (runtime, image)

    def _publish_refused(self, exc) -> LabctlError:
        """The engine could not bind the server's port on the address a client engine reaches
        (an address its host does not have, such as a cloud VM's public IP behind NAT)."""
        text = " ".join(str(exc.explanation or exc).split())
        why = ("it is not an address of that engine's host"
               if "cannot assign requested address" in text else text[-160:])
        return EnvironmentProblem(
            f"the server engine could not publish on {self.publish_address}: {why}",
            f"Set {SERVER_ADDRESS_VARIABLE} to an address the server engine's host has and the "
            "client engine reaches (behind NAT: its private address)")

    def wait_healthy_on_engine(self, instance: Instance, timeout_s: float) -> float:
        """Cold start on an engine elsewhere, in milliseconds: from the start request to the first
        200 on GET /health seen by a probe next to the server.

        The probe container started before the server and got its address through stdin as
        soon as the engine had started it (``start`` arranges that), so it polls as early as
        labctl polls a local engine. Without that watch (a server started some other way), a
        probe started now times it on the engine's clock from the container's start; when its
        very first attempt got a 200 the server was up before the probe, and the figure is an
        upper bound (it includes the probe's own start)."""
        from labctl.runtime import cpus

        watch = instance.extra.pop("health_watch", None)
        if watch is not None:
            answer = self.own_probe_container().finish_health_watch(watch, timeout_s)
        else:
            answer = self.own_probe_container().wait_healthy(instance, timeout_s,
                                                       cpus.client_cpuset(instance.limits))
        if not answer.get("healthy"):
            raise LabctlError(
                f"the {instance.server.title} server did not answer GET /health with 200 "
                f"within {timeout_s:g} s ({answer.get('problem')})",
                "Its last log lines are below", details=self.logs(instance) or "(no logs)")
        if watch is not None and watch.sent_at is not None and "elapsed_s" in answer:
            # This machine's clock up to the moment the address went out, the probe's after:
            # from the start request to the first 200, as on a local engine (plus the one-way
            # trip of the address to the engine, a few ms over ssh).
            # Polling starts when it would on a local engine: once start and inspect returned.
            instance.extra["cold_start_clock"] = "split"
            return ((watch.sent_at - instance.started_at) + answer["elapsed_s"]) * 1000
        container = self._container(instance.ident)
        started = _engine_time(container.attrs["State"]["StartedAt"]) if container else None
        instance.extra["cold_start_clock"] = "engine"
        instance.extra["cold_start_upper_bound"] = answer.get("attempts") == 1
        if started is None:
            return (time.monotonic() - instance.started_at) * 1000
        return max(0.0, (answer["at_wall"] - started) * 1000)

    def run_tool(self, image: str, *, name: str, role: str, entrypoint: list[str] | None,
                 command: list[str],
                 cpuset: str | None, mem_limit: str, timeout_s: float,
                 network_mode: str | None = None,
                 sysctls: dict[str, str] | None = None) -> ToolRun:
        """Run a helper container (a load generator) to completion and remove it.

        It is named and labelled like a server called ``name``, plus ``labctl.role``, so ``labctl down`` and the orphan
        reaper remove it too if labctl dies while it runs. Raises LabctlError when it does not
        finish within ``timeout_s`` or the engine refuses it; its exit status is returned, not
        judged: the caller knows what its output means.
        """
        docker = _docker_module()
        extra: dict[str, Any] = {}
        if network_mode:
            extra["network_mode"] = network_mode
        if sysctls:
            extra["sysctls"] = sysctls
        container = None
        try:
            container = self.client.containers.create(
                image, entrypoint=entrypoint, command=command,
                name=f"labctl-{name}-{SESSION_ID}-{secrets.token_hex(2)}",
                labels={**labels_for(name), LABEL_ROLE: role},
                cpuset_cpus=cpuset, mem_limit=mem_limit, detach=True, **HARDENING, **extra)
            container.start()
            try:
                status = container.wait(timeout=timeout_s)
            except docker.errors.APIError:
                raise
            except Exception as exc:  # noqa: BLE001 - the SDK's HTTP read timeout: it hung
                raise LabctlError(f"{name} did not finish within {timeout_s:g} s "
                                  f"({type(exc).__name__})",
                                  "Try again; `labctl down` removes anything left") from None
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        except docker.errors.APIError as exc:
            raise LabctlError(f"the {name} container failed: {exc.explanation or exc}",
                              "Check the engine with `docker info`") from None
        finally:
            if container is not None:
                remove_container(container)
        return ToolRun(exit_status=status.get("StatusCode", 0), stdout=stdout, stderr=stderr)

    def bridge_reachable(self, ip: str, port: int = CONTAINER_PORT) -> bool:
        """Can this host open TCP connections to container IPs? (Linux: yes; Desktop VMs: no.)

        Forced with LABCTL_DOCKER_PATH=bridge|published. Otherwise a connect to the container's
        port either completes or is refused at once when the bridge is routable; a timeout means
        the address lives in a VM the host cannot reach.
        """
        forced = os.environ.get("LABCTL_DOCKER_PATH", "").lower()
        if forced in {"bridge", "published"}:
            return forced == "bridge"
        if self._bridge_reachable is None:
            self._bridge_reachable = platform.system() == "Linux" and _tcp_answers(ip, port)
        return self._bridge_reachable

    def _container(self, ident: str):
        docker = _docker_module()
        try:
            return self.client.containers.get(ident)
        except docker.errors.NotFound:
            return None

    def is_running(self, instance: Instance) -> bool:
        container = self._container(instance.ident)
        return container is not None and container.status == "running"

    def logs(self, instance: Instance, tail: int = 40) -> str:
        container = self._container(instance.ident)
        if container is None:
            return ""
        return container.logs(tail=tail).decode("utf-8", "replace").rstrip()

    def stop(self, instance: Instance, grace_s: float | None = None) -> None:
        """SIGTERM first, as `docker stop` does (the servers shut down gracefully in well under a
        second), then remove. The time it took is kept: a server that ignores SIGTERM shows up.
        ``grace_s=0``: no SIGTERM, one forced removal (one engine round trip instead of two)."""
        docker = _docker_module()
        watch = instance.extra.pop("health_watch", None)
        if watch is not None:   # stopped before anyone waited for its health
            watch.close()
            remove_container(watch.container)
        container = self._container(instance.ident)
        if container is None:
            return
        started = time.monotonic()
        if grace_s == 0:
            remove_container(container)
            instance.extra["stop_seconds"] = round(time.monotonic() - started, 3)
            return
        try:
            # The engine takes whole seconds only: a float fails the call, and the forced
            # removal below would then SIGKILL the server at once.
            container.stop(timeout=STOP_GRACE_S if grace_s is None else math.ceil(grace_s))
        except docker.errors.APIError:
            pass
        instance.extra["stop_seconds"] = round(time.monotonic() - started, 3)
        remove_container(container)

    def server_sockets(self, instance: Instance) -> tuple[int, int] | None:
        # The engine's pid is this machine's only when the engine runs here (not in a VM or on
        # another machine; the lab then checks that this pid really listens on the port).
        if self.location.remote:
            return None
        container = self._container(instance.ident)
        pid = (container.attrs.get("State") or {}).get("Pid") if container is not None else None
        return (pid, instance.server.port) if isinstance(pid, int) and pid > 0 else None

    def idle_memory_bytes(self, instance: Instance) -> int | None:
        container = self._container(instance.ident)
        if container is None:
            return None
        # An engine on this machine: read the container's cgroup at once. The stats endpoint
        # waits for its collector's next once-a-second sample (runtime/cgroup_memory.py).
        pid = (container.attrs.get("State") or {}).get("Pid")
        if not self.location.remote and isinstance(pid, int) and pid > 0:
            found = container_memory_bytes(pid, container.id)
            if found is not None:
                return found
        memory = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
        usage = memory.get("usage")
        if usage is None:
            return None
        # As `docker stats` does: page cache the kernel can drop is not the server's memory.
        detail = memory.get("stats") or {}
        cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
        return max(int(usage) - int(cache), 0)

    # -- clean-up -------------------------------------------------------------------------

    def _ours(self, *, all_states: bool = True):
        """Every labctl container. Listed sparse, then inspected one by one, skipping any removed
        in between: on a shared engine another labctl may remove one at any moment, and the
        SDK's full listing would fail on it with NotFound."""
        docker = _docker_module()
        found = []
        for sparse in self.client.containers.list(all=all_states, sparse=True,
                                                  filters={"label": LABEL}):
            try:
                found.append(self.client.containers.get(sparse.id))
            except docker.errors.NotFound:
                continue
        return found

    def reap_orphans(self) -> list[str]:
        reaped = []
        host = socket.gethostname()
        for container in self._ours():
            labels = container.labels
            if labels.get(LABEL_KEEP) == "1" and container.status == "running":
                continue  # left running on purpose by `run --keep`; `labctl down` removes it
            if labels.get(LABEL_HOST) != host or not _same_machine(labels):
                continue  # another machine's labctl (a shared engine): not ours to judge
            if owner_alive(labels.get(LABEL_PID), labels.get(LABEL_PID_STARTED)):
                continue
            remove_container(container)
            reaped.append(container.name)
        return reaped

    def down(self, session: str | None = None) -> list[str]:
        """Everything labctl started from this machine (only one run's with ``session``). On an
        engine elsewhere, which other machines may share, containers started from another
        machine are left to their owner."""
        removed = []
        host = socket.gethostname()
        for container in self._ours():
            labels = container.labels
            if self.location.remote and (labels.get(LABEL_HOST, host) != host
                                         or not _same_machine(labels)):
                continue
            if session is not None and labels.get(LABEL_SESSION) != session:
                continue
            remove_container(container)
            removed.append(container.name)
        return removed

    def logs_of_kept(self, server: Server, tail: int) -> str:
        matches = [c for c in self._ours() if c.labels.get(LABEL_SERVER) == server.name]
        if not matches:
            raise LabctlError(f"no {server.title} container is running",
                              f"Start one with: labctl run {server.name} --keep")
        return matches[0].logs(tail=tail).decode("utf-8", "replace").rstrip()


def connect(location=None):
    """A client for the engine DOCKER_HOST (or the current context) names, or for ``location``
    (a client context's engine), or one clear error."""
    docker = _docker_module()
    import requests  # the SDK's transport

    explicit = location is not None
    location = location or engine.locate()
    host = location.endpoint
    transport_errors: tuple[type[BaseException], ...] = (requests.exceptions.RequestException,
                                                         OSError)
    if host.startswith("ssh://"):
        try:
            import paramiko  # the docker SDK's ssh transport
        except ImportError:
            raise EnvironmentProblem(
                f"the Docker engine at {host} is reached over ssh, which needs paramiko",
                "Install it: python3 -m pip install 'docker[ssh]'") from None
        # A refused key, an unknown host key: paramiko's own errors, not the SDK's.
        transport_errors += (paramiko.SSHException,)
    try:
        client = _client_for(location) if explicit else docker.from_env(timeout=30)
        client.ping()
        return client
    # Only what means "no engine here": a bug (a TypeError, a NameError) must not be reported
    # as a missing engine, which would send the user, and the test suite, the wrong way.
    except docker.errors.DockerException as exc:
        raise _connection_problem(host, exc) from None
    except transport_errors as exc:   # not wrapped by the SDK
        raise _connection_problem(host, exc) from None


def _client_for(location):
    """A docker client for one context's engine, whatever this process's DOCKER_HOST says."""
    docker = _docker_module()
    tls = None
    if location.context:
        from docker.context import ContextAPI

        found = ContextAPI.get_context(location.context)
        tls = found.TLSConfig if found is not None else None
    return docker.DockerClient(base_url=location.endpoint, tls=tls or False, timeout=30)


def _host_in_url(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _connection_problem(host: str, exc: Exception) -> EnvironmentProblem:
    text = str(exc)
    socket_path = host.removeprefix("unix://") if host.startswith("unix://") else None
    if "PermissionError" in text or "Permission denied" in text:
        return EnvironmentProblem(
            f"permission denied on the Docker socket {socket_path or host}",
            "Add yourself to the docker group (sudo usermod -aG docker $USER, then log in "
            "again), or use --runtime local")
    if socket_path and not Path(socket_path).exists():
        if not _docker_installed():
            return EnvironmentProblem(
                "Docker is not installed (no engine socket at " + socket_path + ")",
                "Install Docker Engine (on Debian/Ubuntu: sudo apt-get install docker.io), "
                "or use --runtime local")
        return EnvironmentProblem(
            f"the Docker engine is not running (no socket at {socket_path})",
            "Start it (sudo systemctl start docker), or use --runtime local")
    if host.startswith("ssh://"):
        return EnvironmentProblem(
            f"cannot reach the Docker engine at {host} over ssh ({text.splitlines()[0][:120]})",
            f"Check that `{_ssh_command(host)} docker version` works (a key in ~/.ssh/config, "
            "the host in known_hosts), or use --runtime local")
    return EnvironmentProblem(
        f"cannot reach the Docker engine at {host}",
        "Start Docker or fix DOCKER_HOST, or use --runtime local")


def _ssh_command(endpoint: str) -> str:
    """ssh://user@host:2222 → "ssh -p 2222 user@host", what a person types to try the same."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    target = f"{parts.username}@{parts.hostname}" if parts.username else str(parts.hostname)
    return f"ssh -p {parts.port} {target}" if parts.port else f"ssh {target}"


def _docker_installed() -> bool:
    from shutil import which

    return any(which(name) for name in ("docker", "dockerd", "podman"))


def _build_failure(what: str, step: str, error: str, tail, buildargs: dict[str, str]) -> LabctlError:
    error = error.strip()
    lines = "\n".join(tail)
    details = f"failing step: {step}\nlast {len(tail)} lines of output:\n{lines}"
    at_base_image = " FROM " in f" {step.upper()} " or step == "preparing the build"
    pull_failed = at_base_image and any(marker in error for marker in (
        "pull access denied", "manifest unknown", "no such host", "not found", "dial tcp",
        "TLS handshake", "connection refused", "timeout"))
    if pull_failed:
        images = ", ".join(f"{k}={v}" for k, v in buildargs.items())
        variable = next(iter(buildargs), "GO_IMAGE")
        return EnvironmentProblem(
            f"could not get the base image for {what} ({images}): {error}",
            f"Point labctl at an image this engine has or can pull: export LABCTL_{variable}=IMAGE "
            "(see `docker images`), or use --runtime local",
            details=details)
    short_step = step if len(step) <= 70 else step[:69] + "…"
    return LabctlError(f"building the {what} image failed at «{short_step}»: {error}",
                       "The build's last lines are below", details=details)


def labels_for(name: str) -> dict[str, str]:
    """The labels that make a container ours and let a later labctl reap it when we are gone: the
    owning process's pid and start time (so a recycled pid is not taken for it), and its host."""
    labels = {LABEL: "1", LABEL_SESSION: SESSION_ID, LABEL_SERVER: name,
              LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname(),
              **({LABEL_MACHINE: MACHINE_ID} if MACHINE_ID else {})}
    started = start_time(os.getpid())
    if started:
        labels[LABEL_PID_STARTED] = started
    return labels


def _machine_id() -> str | None:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text[:32]
    return None


MACHINE_ID = _machine_id()


def _same_machine(labels: dict[str, str]) -> bool:
    """Was this container started from this machine? Its pid label means something only here.
    A container without the machine label (an older labctl, a machine without an id) is judged
    by its host name alone."""
    recorded = labels.get(LABEL_MACHINE)
    return recorded is None or MACHINE_ID is None or recorded == MACHINE_ID


def _engine_time(text: str | None) -> float | None:
    """An engine timestamp (RFC 3339, nanoseconds, "Z") as seconds since the epoch."""
    import datetime as dt

    if not text or text.startswith("0001-"):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return None
    base, fraction, zone = match.groups()
    moment = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp() + (int(fraction[:9].ljust(9, "0")) / 1e9 if fraction else 0.0)


def _first_network_ip(network: dict) -> str | None:
    for settings in (network.get("Networks") or {}).values():
        if settings.get("IPAddress"):
            return settings["IPAddress"]
    return None


def _tcp_answers(ip: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout_s):
            return True
    except ConnectionRefusedError:
        return True   # the container's kernel answered: the address is routable from here
    except OSError:
        return False


def file_from_image(runtime: DockerRuntime, image: str, path: str, role: str) -> bytes | None:
    """The bytes of one file in ``image`` (a binary in a scratch image has no shell to cat it):
    read through a container that is created, never started, and removed. None when ``path``
    is not a regular file there."""
    import io
    import tarfile

    container = runtime.client.containers.create(image, labels=runtime.tool_labels(role))
    try:
        stream, _ = container.get_archive(path)
        archive = io.BytesIO(b"".join(stream))
    finally:
        runtime.discard(container)
    with tarfile.open(fileobj=archive) as tar:
        member = tar.next()
        handle = tar.extractfile(member) if member else None
        return handle.read() if handle else None


def remove_container(container) -> None:
    docker = _docker_module()
    try:
        container.remove(force=True)   # SIGKILL + remove: what `stop` then `rm` would do, faster
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "removal of container" in str(exc) and "already in progress" in str(exc):
            return
        raise
