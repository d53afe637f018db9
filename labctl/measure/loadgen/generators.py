"""The three ways of sending load: ``ContainerWrk``, ``HostWrk`` and ``BuiltinClient``.

Each is prepared once (it may build an image or find a binary), then run against any number of
running servers; each returns a ``LoadResult`` and never prints.
"""

from __future__ import annotations

import abc
import asyncio
import os
import platform
import shutil
import signal
import subprocess
from typing import Any

from labctl import __version__, config
from labctl.durations import format_duration
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.measure.loadgen.builtin import (
    BUILTIN_CLOSED_PERCENTILES,
    BUILTIN_COMFORT_RPS,
    BUILTIN_NON_2XX,
    BUILTIN_OPEN_PERCENTILES,
    run_builtin,
)
from labctl.measure.loadgen.options import BUILTIN_WARNING, LoadOptions, LoadResult
from labctl.measure.loadgen.wrk import (
    VERSION_PREFIX,
    WRK_CONTEXT,
    WRK_IMAGE_TAG,
    WRK_SCRIPT,
    WRK_SCRIPT_IN_IMAGE,
    WRK_VERSION_IN_IMAGE,
    by_hand_command,
    parse_wrk_report,
    parse_wrk_version,
    result_from_wrk,
    wrk_args,
    wrk_figures,
)
from labctl.runtime.base import Instance, ProgressCallback
from labctl.runtime.cpus import describe_cpus, parse_cpuset, pin_child, usable_cores

CONTAINER_MEMORY = "256m"
EXTRA_WAIT_S = 30.0               # beyond the load's own duration, before giving up on wrk


def default_threads(options: LoadOptions, cpuset: str | None) -> int:
    if options.threads is not None:
        return options.threads
    cores = len(parse_cpuset(cpuset)) if cpuset else max(1, usable_cores())
    return max(1, min(cores, options.connections))


def _shared_cpu_note(cpuset: str | None) -> list[str]:
    if cpuset is not None:
        return []
    return ["the load generator and the server share CPUs (this machine cannot keep them apart): "
            "the client's own work slows the server down"]


class Generator(abc.ABC):
    """One way of sending load. ``prepare`` once (it may build an image), then ``run``."""

    name: str
    where: str

    def __init__(self) -> None:
        self.notes: list[str] = []    # how it was chosen (fallbacks), added to every result

    def prepare(self, progress: ProgressCallback | None = None) -> None:  # noqa: B027
        """Get ready to run (build an image, find a binary); LabctlError when it cannot."""

    @abc.abstractmethod
    def run(self, instance: Instance, options: LoadOptions,
            cpuset: str | None) -> LoadResult: ...

    def _wrk_result(self, exit_status: int, stdout: str, stderr: str, *, options: LoadOptions,
                    seconds: int, cpuset: str | None, threads: int, url: str,
                    version: str | None, command: list[str], where_detail: str) -> LoadResult:
        """A wrk run's result, wherever wrk ran; LabctlError when it failed without figures."""
        if exit_status != 0 and parse_wrk_report(stdout) is None:
            raise LabctlError(f"wrk exited with status {exit_status}: "
                              f"{(stderr or stdout).strip().splitlines()[-1:] or ['no output']}",
                              "Its output is below", details=(stdout + stderr).strip() or None)
        figures, from_script = wrk_figures(stdout, stderr)
        notes = self.notes + _duration_note(options, seconds) + _shared_cpu_note(cpuset)
        return result_from_wrk(
            figures, from_script=from_script, version=version, where=self.where,
            where_detail=where_detail, client_cpuset=cpuset, target_url=url, options=options,
            threads=threads, command=command,
            by_hand=by_hand_command(options, threads, url, cpuset), notes=notes)


class ContainerGenerator(Generator):
    """A load generator in a container of its own (an image labctl builds), pinned to the client
    CPUs, reaching the server over the Docker bridge: what wrk and oha have in common."""

    where = "container"

    def __init__(self, docker_runtime) -> None:
        super().__init__()
        self.docker = docker_runtime
        self.image_details: dict[str, Any] = {}

    def _build(self, context, tag: str, buildargs: dict[str, str],
               progress: ProgressCallback | None, *, rebuild: bool, what: str) -> None:
        build = self.docker.build_image(context, tag, buildargs, progress, rebuild=rebuild,
                                        what=what)
        self.image_details = build.as_dict()

    def _target(self, instance: Instance) -> tuple[str, str, str | None]:
        """(URL the generator uses, how it gets there, Docker network mode)."""
        port = instance.server.port
        if instance.path_kind == "loopback":
            # A native server on 127.0.0.1: only the host's network namespace reaches it.
            return instance.url, f"host network to {instance.url}", "host"
        if instance.path_kind == "between-engines":   # --client-context: this is another engine
            address = instance.url.removeprefix("http://")
            return (instance.url, f"on {self.docker.location.engine_phrase}, across the network "
                                  f"to the port published at {address} on the server engine's "
                                  "host", None)
        bridge_ip = instance.extra.get("bridge_ip")
        if not bridge_ip:
            raise LabctlError(f"the {instance.server.title} container has no bridge IP for the "
                              f"{self.name} container to reach", "Use --generator host or builtin")
        route = f"over the Docker bridge to {bridge_ip}:{port}"
        if instance.path_kind == "engine-bridge":   # labctl's engine is on another machine
            route += f", next to the server on {self.docker.location.engine_phrase}"
        return f"http://{bridge_ip}:{port}", route, None

    def _run_container(self, tag: str, *, entry: list[str], args: list[str], cpuset: str | None,
                       timeout_s: float, network_mode: str | None):
        # Without the host's network: the client's own namespace gets a wide port range, so a
        # keep-alive-off run never runs out of ephemeral ports. The server's side is untouched.
        sysctls = None if network_mode else {"net.ipv4.ip_local_port_range": "1024 65535"}
        try:
            return self.docker.run_tool(
                tag, name=self.name, role="loadgen", entrypoint=entry, command=args,
                cpuset=cpuset, mem_limit=CONTAINER_MEMORY, timeout_s=timeout_s,
                network_mode=network_mode, sysctls=sysctls)
        except LabctlError as problem:
            problem.hint = f"{problem.hint}, or use --generator host or builtin"
            raise


class ContainerWrk(ContainerGenerator):
    """Debian's wrk in a container of its own, on the client CPUs, over the Docker bridge."""

    name = "wrk"

    def prepare(self, progress: ProgressCallback | None = None, *, rebuild: bool = False) -> None:
        buildargs = {config.DEBIAN_IMAGE_ARG: config.base_image(config.DEBIAN_IMAGE_ARG,
                                                                config.DEFAULT_DEBIAN_IMAGE)}
        self._build(WRK_CONTEXT, WRK_IMAGE_TAG, buildargs, progress, rebuild=rebuild,
                    what="wrk load generator")

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        base_url, route, network_mode = self._target(instance)
        threads = default_threads(options, cpuset)
        args, seconds = wrk_args(options, threads, base_url + options.path, WRK_SCRIPT_IN_IMAGE)
        # Print the version first, then become wrk (exec: it gets the signals itself).
        entry = ["sh", "-c", f'printf "{VERSION_PREFIX}%s\\n" "$(head -n 1 {WRK_VERSION_IN_IMAGE})"'
                             '; exec wrk "$@"', "wrk"]
        run = self._run_container(WRK_IMAGE_TAG, entry=entry, args=args, cpuset=cpuset,
                                  timeout_s=seconds + options.timeout_s + EXTRA_WAIT_S,
                                  network_mode=network_mode)
        return self._wrk_result(
            run.exit_status, run.stdout, run.stderr, options=options, seconds=seconds,
            cpuset=cpuset, threads=threads, url=base_url + options.path,
            version=parse_wrk_version(run.stdout), command=["wrk", *args],
            where_detail=(f"wrk in a container ({WRK_IMAGE_TAG}) on {describe_cpus(cpuset)}, "
                          f"{route}"))


class HostWrk(Generator):
    """A wrk installed on this machine, pinned to the client CPUs."""

    name = "wrk"
    where = "host"

    def __init__(self, executable: str | None = None) -> None:
        super().__init__()
        self.executable = executable or shutil.which("wrk")
        self.version: str | None = None

    def prepare(self, progress: ProgressCallback | None = None) -> None:
        if not self.executable:
            raise EnvironmentProblem(
                "no wrk on this machine (not found on PATH)",
                "Install it (Debian/Ubuntu: sudo apt-get install wrk), or use --generator "
                "container or builtin")
        try:
            out = subprocess.run([self.executable, "-v"], capture_output=True, text=True,
                                 timeout=10, check=False)
            self.version = parse_wrk_version(out.stdout + out.stderr)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EnvironmentProblem(f"{self.executable} does not run ({exc})",
                                     "Reinstall wrk, or use --generator container or builtin"
                                     ) from None

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        executable = self.executable
        if executable is None or self.version is None:
            self.prepare()          # no wrk: an EnvironmentProblem that says how to install it
            executable = self.executable
        assert executable is not None
        threads = default_threads(options, cpuset)
        url = instance.url + options.path
        args, seconds = wrk_args(options, threads, url, str(WRK_SCRIPT))
        process = subprocess.Popen(
            [executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, errors="replace",
            start_new_session=True,    # labctl stops it itself, on every way out
            preexec_fn=pin_child(cpuset))
        try:
            stdout, stderr = process.communicate(
                timeout=seconds + options.timeout_s + EXTRA_WAIT_S)
        except subprocess.TimeoutExpired:
            raise LabctlError(f"wrk did not finish within {seconds + EXTRA_WAIT_S:g} s",
                              "Try again with a shorter --duration") from None
        finally:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        pinned = f"pinned to {describe_cpus(cpuset)}" if cpuset else "not pinned (shared CPUs)"
        return self._wrk_result(
            process.returncode, stdout, stderr, options=options, seconds=seconds, cpuset=cpuset,
            threads=threads, url=url, version=self.version,
            command=[executable, *args],
            where_detail=f"wrk as a host process ({self.executable}), {pinned}, to "
                         f"{instance.path}")


class BuiltinClient(Generator):
    """labctl's own asyncio HTTP/1.1 client: closed loop, or open loop at a fixed rate."""

    name = "builtin"
    where = "builtin"

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        url = instance.url + options.path
        cpus = parse_cpuset(cpuset)
        previous = None
        if cpus and hasattr(os, "sched_setaffinity"):
            previous = os.sched_getaffinity(0)
            os.sched_setaffinity(0, cpus)   # this thread only: the event loop runs on it
        try:
            outcome = asyncio.run(run_builtin(url, options))
        finally:
            if previous is not None:
                os.sched_setaffinity(0, previous)
        notes = list(self.notes)
        if options.rate is None:
            notes.append(BUILTIN_WARNING)
        else:
            notes.append("open loop on the built-in Python client: its own overhead (a few "
                         "hundred µs per request) is inside every latency; fine for comparing "
                         f"servers at rates well below {BUILTIN_COMFORT_RPS:,} req/s")
            if options.rate > BUILTIN_COMFORT_RPS:
                notes.append(f"{options.rate:g} req/s is above what the built-in client can "
                             "usually send: expect a shortfall")
        notes += _shared_cpu_note(cpuset)
        pinned = f"pinned to {describe_cpus(cpuset)}" if cpuset else "not pinned (shared CPUs)"
        return LoadResult(
            generator="builtin",
            version=f"labctl {__version__} (Python {platform.python_version()} asyncio)",
            where="builtin",
            where_detail=f"built-in asyncio client inside labctl's own process, {pinned}, to "
                         f"{instance.path}",
            client_cpuset=cpuset, target_url=url, options=options,
            threads=1, requests=outcome.requests, duration_s=outcome.duration_s,
            latency_us=outcome.latency_summary(),
            percentile_kind=(BUILTIN_CLOSED_PERCENTILES if options.rate is None
                             else BUILTIN_OPEN_PERCENTILES),
            errors=dict(outcome.errors), non_2xx=outcome.non_2xx,
            non_2xx_definition=BUILTIN_NON_2XX, bytes_read=outcome.bytes_read,
            open_loop=outcome.open_loop_facts(options), notes=notes)


def _duration_note(options: LoadOptions, seconds: int) -> list[str]:
    if seconds == options.duration_s:
        return []
    return [f"wrk runs for whole seconds only: {format_duration(options.duration_s)} asked, "
            f"{seconds} s run"]
