"""Where the measuring client runs: in labctl's own process, or in a container next to the server.

``run``, ``compare`` and ``verify`` check and time servers through one of these two, so the same
code decides the figures either way:

- ``HereClient``: labctl's in-process libcurl probe, pinned to the CPUs the servers do not use.
  Used when the engine is on this machine (its containers' bridge IPs are reachable from here).
- ``EngineClient``: the very same probe code (labctl/measure/agent.py, with this package copied
  into the image) in a container on the servers' engine, on the CPUs the servers do not use, over
  the engine's bridge network. Used when the engine is elsewhere; its answers come back as one
  JSON line in the container's logs, through the engine's API. Nothing is published for it.
- ``CrossEngineClient``: the same container on another engine (``--client-context``), reaching
  the servers through ports published on their engine's host (labctl/runtime/client_engine.py).
"""

from __future__ import annotations

import importlib.metadata
import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from labctl import config, paths
from labctl.errors import LabctlError
from labctl.measure import sampling as measure
from labctl.measure import verify
from labctl.runtime import cpus
from labctl.runtime.base import Instance, ProgressCallback

PROBE_IMAGE_TAG = "labctl/probe:latest"
PROBE_CONTEXT = paths.docker_context("probe")
PYTHON_IMAGE_ARG = "PYTHON_IMAGE"
DEFAULT_PYTHON_IMAGE = "python:3.12-slim"
PROBE_MEMORY = "256m"
AGENT_OVERHEAD_S = 60.0    # start-up and image load on a slow engine, on top of the job itself
READY_POLL_S = 0.02        # between two reads of a waiting probe's logs for its ready line
HERE_DESCRIPTION = "libcurl in-process (pycurl)"


class SeriesDocument(dict):
    """A series already turned into its JSON form by the agent; answers ``as_dict`` like
    ``measure.Series`` so documents are built the same way."""

    def as_dict(self) -> dict:
        return dict(self)


class HealthWatch:
    """A waiting health-probe container and the stdin through which it gets the address."""

    def __init__(self, container, stdin) -> None:
        self.container = container
        self._stdin = stdin
        self.sent_at: float | None = None

    def send(self, url: str) -> None:
        raw = getattr(self._stdin, "_sock", self._stdin)   # the SDK wraps unix sockets
        raw.sendall((url + "\n").encode())
        self.sent_at = time.monotonic()

    def close(self) -> None:
        if self._stdin is None:
            return
        try:
            getattr(self._stdin, "_sock", self._stdin).close()
        except OSError:
            pass


class HereClient:
    """The in-process probe on this machine."""

    on_engine = False
    description = HERE_DESCRIPTION
    where = "in labctl's own process on this machine"

    def check(self, server, url: str) -> verify.Verification:
        return verify.verify_responses(server, url)

    def measure(self, targets: dict[str, str], *, cpuset: str | None, samples: int, warmup: int,
                block: int = 1, on_round=None) -> tuple[dict, str | None]:
        with cpus.pinned(cpuset) as probe_cpus:
            results = measure.measure(targets, samples=samples, warmup=warmup, block=block,
                                      on_round=on_round)
        return results, probe_cpus

    def date_changes(self, verification: verify.Verification, url: str) -> None:
        verify.verify_date_changes(verification, url)

    def facts(self) -> dict[str, Any]:
        return {"client": self.description, "where": self.where}


class EngineClient:
    """The same probe, in a container next to the servers on the Docker engine."""

    on_engine = True

    def __init__(self, docker_runtime) -> None:
        self.docker = docker_runtime
        self.machine = docker_runtime.location.engine_phrase
        self.description = f"{HERE_DESCRIPTION} in a container ({PROBE_IMAGE_TAG})"
        self.where = f"in a container next to the server on {self.machine}"
        self._first_dates: dict[str, tuple[str, list]] = {}   # name → (url, [wall, date])
        self._date_checks: dict[str, list[dict]] = {}
        self.libcurl: str | None = None
        self.image: dict[str, Any] = {}

    # -- the image ------------------------------------------------------------------------

    def prepare(self, progress: ProgressCallback | None = None, *, rebuild: bool = False) -> None:
        """Build the probe image from labctl's own package (reused while nothing changed)."""
        with tempfile.TemporaryDirectory(prefix="labctl-probe-") as scratch:
            context = Path(scratch)
            shutil.copy(PROBE_CONTEXT / "Dockerfile", context / "Dockerfile")
            package = paths.package_dir()
            for source in sorted(package.rglob("*.py")):
                relative = source.relative_to(package)
                if relative.parts[0] in {"_data", "__pycache__"} or "__pycache__" in relative.parts:
                    continue
                target = context / "labctl" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            buildargs = {
                PYTHON_IMAGE_ARG: config.base_image(PYTHON_IMAGE_ARG, DEFAULT_PYTHON_IMAGE),
                "PYCURL_VERSION": _installed("pycurl"),
                "HTTPX_VERSION": _installed("httpx"),
                "PLATFORMDIRS_VERSION": _installed("platformdirs"),
            }
            build = self.docker.build_image(context, PROBE_IMAGE_TAG, buildargs, progress,
                                            rebuild=rebuild, what="libcurl probe")
        self.image = build.as_dict()

    # -- jobs -----------------------------------------------------------------------------

    def _run(self, job: dict, *, cpuset: str | None, timeout_s: float) -> dict:
        if not self.image:
            self.prepare()
        run = self.docker.run_tool(
            PROBE_IMAGE_TAG, name="probe", role="probe", entrypoint=None,
            command=[json.dumps(job)], cpuset=cpuset, mem_limit=PROBE_MEMORY,
            timeout_s=timeout_s + AGENT_OVERHEAD_S)
        answer = _last_json_line(run.stdout)
        if answer is None:
            tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
            raise LabctlError(f"the probe container on {self.machine} gave no answer "
                              f"(exit status {run.exit_status})",
                              "Its output is below; run again with --rebuild if labctl changed",
                              details="\n".join(tail) or None)
        if not answer.get("ok"):
            raise LabctlError(f"{answer.get('error')} (the probe {self.where})",
                              answer.get("hint"))
        return answer

    def start_health_watch(self, cpuset: str | None, timeout_s: float) -> HealthWatch:
        """A health poller on the engine, started and ready *before* the server starts, so a
        cold start is not hidden behind this container's own start-up (about a second)."""
        from labctl.measure.agent import READY_LINE
        from labctl.runtime import docker as docker_runtime

        if not self.image:
            self.prepare()
        job = {"job": "health", "url_from_stdin": True, "timeout_s": timeout_s}
        container = self.docker.client.containers.create(
            PROBE_IMAGE_TAG, command=[json.dumps(job)], stdin_open=True,
            name=f"labctl-probe-{docker_runtime.SESSION_ID}-{secrets.token_hex(2)}",
            labels={**docker_runtime._labels("probe"), docker_runtime.LABEL_ROLE: "probe"},
            cpuset_cpus=cpuset, mem_limit=PROBE_MEMORY, detach=True)
        stdin = None
        try:
            stdin = self.docker.client.api.attach_socket(
                container.id, params={"stdin": 1, "stream": 1})
            container.start()
            # Short log reads, not a followed stream: over ssh a stream holds one of the
            # connection's few channels (sshd allows 10) and the SDK cannot cancel it.
            deadline = time.monotonic() + timeout_s
            ready = False
            while not ready and time.monotonic() < deadline:
                ready = READY_LINE.encode() in container.logs(stdout=True, stderr=False)
                if not ready:
                    container.reload()
                    if container.status == "exited":
                        break
                    time.sleep(READY_POLL_S)
            if not ready:
                raise LabctlError("the probe container next to the server exited before it "
                                  "was ready", "Run again with --rebuild if labctl changed",
                                  details=container.logs().decode("utf-8", "replace")[-2000:])
        except BaseException:
            HealthWatch(container, stdin).close()
            docker_runtime._remove(container)
            raise
        return HealthWatch(container, stdin)

    def finish_health_watch(self, watch: HealthWatch, timeout_s: float) -> dict:
        from labctl.runtime import docker as docker_runtime

        try:
            watch.container.wait(timeout=timeout_s + AGENT_OVERHEAD_S)
            answer = _last_json_line(watch.container.logs(stdout=True, stderr=False)
                                     .decode("utf-8", "replace"))
        finally:
            watch.close()
            docker_runtime._remove(watch.container)
        if answer is None or not answer.get("ok"):
            raise LabctlError(f"the health probe on {self.machine} gave no answer",
                              (answer or {}).get("hint") or "Run again; labctl down cleans up")
        return answer

    def wait_healthy(self, instance: Instance, timeout_s: float, cpuset: str | None) -> dict:
        url = instance.extra.get("health_url", instance.url)   # the bridge, not a published port
        return self._run({"job": "health", "url": url + instance.server.health_path,
                          "timeout_s": timeout_s},
                         cpuset=cpuset, timeout_s=timeout_s)

    def check_all(self, targets: dict[str, tuple[Any, str]]) -> dict[str, verify.Verification]:
        """Verify several servers in one container run: name → (server, url)."""
        job = {"job": "verify", "servers": {name: {"url": url, "greeting": server.greeting}
                                            for name, (server, url) in targets.items()}}
        answer = self._run(job, cpuset=None, timeout_s=30.0 * len(targets))
        found = {}
        for name, (server, url) in targets.items():
            entry = answer["servers"][name]
            verification = verify.Verification(server=server.name)
            verification.checks = [verify.Check(c["check"], c["status"], c["reason"])
                                   for c in entry["verification"]["checks"]]
            if entry.get("first_date"):
                self._first_dates[name] = (url, entry["first_date"])
            found[name] = verification
        return found

    def check(self, server, url: str) -> verify.Verification:
        return self.check_all({server.name: (server, url)})[server.name]

    def measure(self, targets: dict[str, str], *, cpuset: str | None, samples: int, warmup: int,
                block: int = 1, on_round=None) -> tuple[dict, str | None]:
        """Time in one container run; the Date checks of the verified servers ride along (the
        timing takes longer than the second they need)."""
        dates = {name: {"url": url, "first_date": first}
                 for name, (url, first) in self._first_dates.items() if name in targets}
        job = {"job": "measure", "targets": targets, "samples": samples, "warmup": warmup,
               "block": block, "paths": list(measure.DEFAULT_PATHS), "modes": list(measure.MODES),
               "dates": dates}
        # A generous bound: the slowest server answers well under 50 ms per request.
        requests = (samples + warmup) * len(targets) * len(measure.DEFAULT_PATHS) * 2
        answer = self._run(job, cpuset=cpuset, timeout_s=30.0 + requests * 0.05)
        self.libcurl = answer.get("libcurl")
        for name in dates:
            self._first_dates.pop(name, None)
            self._date_checks[name] = answer["dates"].get(name, [])
        results = {name: {path: {mode: SeriesDocument(series) for mode, series in by_mode.items()}
                          for path, by_mode in by_path.items()}
                   for name, by_path in answer["results"].items()}
        return results, cpuset

    def date_changes(self, verification: verify.Verification, url: str) -> None:
        name = verification.server
        if name not in self._date_checks and name in self._first_dates:
            # Not measured (it failed a check): a job of its own for the Date check.
            _, first = self._first_dates.pop(name)
            job = {"job": "measure", "targets": {}, "samples": 1, "warmup": 0,
                   "paths": [], "modes": [], "dates": {name: {"url": url, "first_date": first}}}
            self._date_checks[name] = self._run(job, cpuset=None, timeout_s=10)["dates"][name]
        for check in self._date_checks.pop(name, []):
            verification.checks.append(verify.Check(check["check"], check["status"],
                                                    check["reason"]))

    def facts(self) -> dict[str, Any]:
        return {"client": self.description, "where": self.where, "engine": self.machine,
                "libcurl": self.libcurl, "image": self.image.get("artifact")}


class CrossEngineClient(EngineClient):
    """The probe container on another engine than the servers' (``--client-context``): the URLs
    it is given are ports published on the server engine's host, so the figures include the
    network between the two engines."""

    def __init__(self, client_engine) -> None:
        super().__init__(client_engine.runtime)
        self.client_engine = client_engine
        self.machine = client_engine.phrase
        self.where = (f"in a container on {client_engine.phrase}, across the network to the "
                      f"servers' ports published on {client_engine.server_address.address}")


def for_runtime(runtime):
    """The client that can reach ``runtime``'s servers."""
    client_engine = getattr(runtime, "client_engine", None)
    if client_engine is not None:
        return CrossEngineClient(client_engine)
    if getattr(runtime, "name", "") == "docker" and runtime.location.measure_on_engine:
        return runtime.engine_client()
    return HereClient()


def _installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise LabctlError(f"{distribution} is not installed with labctl",
                          f"pip install {distribution}") from None


def _last_json_line(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None
