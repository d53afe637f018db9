"""labctl's probe as a container on a Docker engine: its image, one job per run, and the health
watch that times a cold start from next to the server.

This is the engine side only: it builds the image (a copy of the labctl package on
``PYTHON_IMAGE``), starts containers with a JSON job and reads back their one-line JSON answer.
What the jobs measure, and how answers become checks and series, is ``labctl.measure``'s
(``measure/agent.py`` runs inside the container, ``measure/clients.py`` reads its answers).
"""

from __future__ import annotations

import importlib.metadata
import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labctl import config, paths
from labctl.errors import LabctlError
from labctl.runtime.base import SESSION_ID, Instance, ProgressCallback

if TYPE_CHECKING:
    from labctl.runtime.docker import DockerRuntime

PROBE_IMAGE_TAG = "labctl/probe:latest"
PYTHON_IMAGE_ARG = "PYTHON_IMAGE"
DEFAULT_PYTHON_IMAGE = "python:3.12-slim"
PROBE_MEMORY = "256m"
AGENT_OVERHEAD_S = 60.0    # start-up and image load on a slow engine, on top of the job itself
READY_POLL_S = 0.02        # between two reads of a waiting probe's logs for its ready line
# What a health-watch job prints once its HTTP client is warm and it waits for the address.
READY_LINE = "labctl-probe-ready"


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


class ProbeContainer:
    """The probe image on one engine, and the containers that run its jobs."""

    def __init__(self, docker_runtime: DockerRuntime, machine: str) -> None:
        self.docker = docker_runtime
        self.machine = machine          # for messages: "the engine at ssh://vm"
        self.image: dict[str, Any] = {}

    def prepare(self, progress: ProgressCallback | None = None, *, rebuild: bool = False) -> None:
        """Build the probe image from labctl's own package (reused while nothing changed)."""
        with tempfile.TemporaryDirectory(prefix="labctl-probe-") as scratch:
            context = Path(scratch)
            shutil.copy(paths.docker_context("probe") / "Dockerfile", context / "Dockerfile")
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

    def run_job(self, job: dict, *, cpuset: str | None, timeout_s: float, where: str) -> dict:
        """Run one job in a fresh container; its answer, or one-line errors naming ``where``."""
        if not self.image:
            self.prepare()
        run = self.docker.run_tool(
            PROBE_IMAGE_TAG, name="probe", role="probe", entrypoint=None,
            command=[json.dumps(job)], cpuset=cpuset, mem_limit=PROBE_MEMORY,
            timeout_s=timeout_s + AGENT_OVERHEAD_S)
        answer = last_json_line(run.stdout)
        if answer is None:
            tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
            raise LabctlError(f"the probe container on {self.machine} gave no answer "
                              f"(exit status {run.exit_status})",
                              "Its output is below; run again with --rebuild if labctl changed",
                              details="\n".join(tail) or None)
        if not answer.get("ok"):
            raise LabctlError(f"{answer.get('error')} (the probe {where})", answer.get("hint"))
        return answer

    def start_health_watch(self, cpuset: str | None, timeout_s: float) -> HealthWatch:
        """A health poller on the engine, started and ready *before* the server starts, so a
        cold start is not hidden behind this container's own start-up (about a second)."""
        if not self.image:
            self.prepare()
        job = {"job": "health", "url_from_stdin": True, "timeout_s": timeout_s}
        container = self.docker.client.containers.create(
            PROBE_IMAGE_TAG, command=[json.dumps(job)], stdin_open=True,
            name=f"labctl-probe-{SESSION_ID}-{secrets.token_hex(2)}",
            labels=self.docker.tool_labels("probe"),
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
            self.docker.discard(container)
            raise
        return HealthWatch(container, stdin)

    def finish_health_watch(self, watch: HealthWatch, timeout_s: float) -> dict:
        try:
            watch.container.wait(timeout=timeout_s + AGENT_OVERHEAD_S)
            answer = last_json_line(watch.container.logs(stdout=True, stderr=False)
                                    .decode("utf-8", "replace"))
        finally:
            watch.close()
            self.docker.discard(watch.container)
        if answer is None or not answer.get("ok"):
            raise LabctlError(f"the health probe on {self.machine} gave no answer",
                              (answer or {}).get("hint") or "Run again; labctl down cleans up")
        return answer

    def wait_healthy(self, instance: Instance, timeout_s: float, cpuset: str | None) -> dict:
        url = instance.extra.get("health_url", instance.url)   # the bridge, not a published port
        return self.run_job({"job": "health", "url": url + instance.server.health_path,
                             "timeout_s": timeout_s},
                            cpuset=cpuset, timeout_s=timeout_s,
                            where=f"next to the server on {self.machine}")


def _installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise LabctlError(f"{distribution} is not installed with labctl",
                          f"pip install {distribution}") from None


def last_json_line(text: str) -> dict | None:
    """The last line of ``text`` that is a JSON object (a job's answer), or None."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None
