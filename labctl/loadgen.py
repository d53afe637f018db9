"""Load generators for `labctl load` and `labctl compare --load`, and parsers of their output.

No printing here: every function returns data; the commands render it.

Three generators, chosen by ``LoadOptions.generator``:

- ``container``: Debian's wrk package in its own container (labctl/docker/wrk/Dockerfile, built
  from the same base-image mechanism as the servers), pinned to the client CPUs with a cpuset,
  reaching the server container over the Docker bridge (never through docker-proxy). It is
  labelled like the servers, so ``labctl down`` and the orphan reaper remove it too.
- ``host``: a wrk found on PATH, pinned to the client CPUs with ``sched_setaffinity``.
- ``builtin``: an asyncio client with a minimal hand-written HTTP/1.1 implementation. It is the
  bottleneck above a few thousand requests per second (see the project's measurement notes),
  so a closed-loop run with it is flagged: it measures labctl, not the server.
- ``auto``: Docker runtime → container wrk (host wrk, then builtin if the image cannot be
  built); local runtime → host wrk, else builtin with the loud note.

wrk (4.1, as Debian ships it) is closed loop only: each connection sends its next request as
soon as the previous answer arrives, so it measures maximum throughput, and its latency is
counted from when a request was really sent. It cannot pace requests at a fixed rate. A fixed
rate (``--rate``, open loop, as wrk2 and oha do) therefore runs on the built-in client, which is
honest for rates well below its ceiling: latency is counted from each request's *intended* send
time whenever the connection was still busy (coordinated omission corrected, as wrk2 does), and
a run whose achieved rate falls short of the target by more than 5 % is flagged.

wrk's figures come from a small Lua script (labctl/docker/wrk/report.lua) that prints wrk's own
counters and histogram percentiles as one JSON line; wrk's human-readable text is parsed only
when that line is missing.
"""

from __future__ import annotations

import abc
import asyncio
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labctl import __version__, config, hostinfo
from labctl.cpus import client_cpuset, describe_cpus, parse_cpuset, pin_child
from labctl.durations import format_duration, parse_duration  # noqa: F401 - re-exported
from labctl.errors import EnvironmentProblem, LabctlError, UsageProblem
from labctl.runtime.base import SESSION_ID, Instance, ProgressCallback, Runtime

GENERATORS = ("auto", "container", "host", "builtin")
WRK_IMAGE_TAG = "labctl/wrk:latest"
WRK_CONTEXT = Path(__file__).parent / "docker" / "wrk"
WRK_SCRIPT = WRK_CONTEXT / "report.lua"
WRK_SCRIPT_IN_IMAGE = "/etc/labctl/report.lua"
WRK_VERSION_IN_IMAGE = "/etc/labctl/wrk-version"
RESULT_PREFIX = "LABCTL-WRK-RESULT "
VERSION_PREFIX = "LABCTL-WRK-VERSION "
DEFAULT_TIMEOUT_S = 2.0           # wrk's default: slower answers count as timeout errors
RATE_SHORTFALL = 0.05             # open loop: flag when the achieved rate is >5 % short
BUILTIN_COMFORT_RPS = 2000        # the built-in client's rate ceiling is "a few thousand"
CONTAINER_MEMORY = "256m"
EXTRA_WAIT_S = 30.0               # beyond the load's own duration, before giving up on wrk

BUILTIN_WARNING = ("built-in Python client: it is the bottleneck above a few thousand req/s; "
                   "these numbers measure labctl, not the server")
WRK_PERCENTILES = ("wrk's own latency histogram (HdrHistogram, 3 significant digits); each "
                   "request timed from when wrk sent it to its complete response (closed loop: "
                   "time waiting to send is not counted)")
BUILTIN_CLOSED_PERCENTILES = ("exact nearest-rank percentiles over every request, timed from "
                              "sending it to its complete response")
BUILTIN_OPEN_PERCENTILES = ("exact nearest-rank percentiles over every request, timed from its "
                            "intended send time whenever its connection was still busy "
                            "(coordinated omission corrected, as wrk2 does)")
WRK_NON_2XX = "responses with status 400 or above (wrk's count; wrk treats 3xx as success)"
BUILTIN_NON_2XX = "responses whose status is not 2xx"


# -- options and results ------------------------------------------------------------------


@dataclass(frozen=True)
class LoadOptions:
    """What load to send. ``rate`` None is a closed loop (as fast as the server answers)."""

    path: str = "/"
    connections: int = 100
    duration_s: float = 10.0
    threads: int | None = None        # None: one per client CPU (never more than connections)
    rate: float | None = None         # requests per second in total: an open loop
    keepalive: bool = True
    generator: str = "auto"           # auto | container | host | builtin
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def loop(self) -> str:
        return "closed" if self.rate is None else "open"

    def validate(self) -> None:
        """Raise a LabctlError (exit 2: bad input) for options no generator can honour."""
        if not self.path.startswith("/"):
            raise UsageProblem(f"the path must start with '/' (got {self.path!r})",
                               "For example: labctl load go /health")
        if self.connections < 1:
            raise UsageProblem("--connections must be at least 1")
        if self.duration_s <= 0:
            raise UsageProblem("--duration must be more than 0")
        if self.threads is not None and not 1 <= self.threads <= self.connections:
            raise UsageProblem(
                f"--threads {self.threads} must be between 1 and the number of connections "
                f"({self.connections})", "Each wrk thread needs at least one connection")
        if self.rate is not None and self.rate <= 0:
            raise UsageProblem("--rate must be more than 0 requests per second")
        if self.generator not in GENERATORS:
            raise UsageProblem(f"unknown generator {self.generator!r}",
                               "Choose one of: " + ", ".join(GENERATORS))
        if self.rate is not None and self.generator in ("container", "host"):
            raise UsageProblem(
                "wrk cannot send requests at a fixed rate: Debian's wrk is closed loop only",
                "Leave out --generator (a fixed --rate runs on the built-in open-loop client), "
                "or leave out --rate for a closed loop")

    def describe_loop(self) -> str:
        if self.rate is None:
            return "closed loop (as fast as the server answers)"
        return f"open loop at {self.rate:g} req/s"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "connections": self.connections,
                "duration_s": self.duration_s, "threads": self.threads, "rate": self.rate,
                "keepalive": self.keepalive, "generator": self.generator,
                "timeout_s": self.timeout_s}


@dataclass
class LoadResult:
    """One load run: what was sent, from where, and what came back.

    Latencies are in microseconds. ``requests`` counts complete responses, whatever their
    status (wrk's definition); ``requests_per_s`` divides it by the measured duration.
    """

    generator: str                       # "wrk" | "builtin"
    version: str | None
    where: str                           # "container" | "host" | "builtin"
    where_detail: str                    # for people: where it ran and how it reached the server
    client_cpuset: str | None            # CPUs the generator was pinned to; None: not separated
    target_url: str
    options: LoadOptions
    threads: int
    requests: int
    duration_s: float                    # measured by the generator
    latency_us: dict[str, float | None]  # p50 p90 p99 max, and min mean p75 p999 where known
    percentile_kind: str
    errors: dict[str, int]               # socket errors: connect read write timeout
    non_2xx: int
    non_2xx_definition: str
    command: list[str] | None = None     # the generator's command line as it ran
    by_hand: list[str] | None = None     # the same load from this machine's shell
    bytes_read: int | None = None
    open_loop: dict[str, Any] | None = None   # target, achieved, missed, client lateness
    notes: list[str] = field(default_factory=list)
    warmup_s: float = 0.0                # a discarded warm-up of this length ran first

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def reasons(self) -> list[str]:
        return flag_reasons(self)

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    @property
    def all_failed(self) -> bool:
        """No request got a successful answer: nothing about the server was measured."""
        return self.requests == 0 or self.non_2xx >= self.requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "generator": {"name": self.generator, "version": self.version, "where": self.where,
                          "description": self.where_detail, "cpuset": self.client_cpuset,
                          "command": self.command, "by_hand": self.by_hand},
            "target_url": self.target_url,
            "path": self.options.path,
            "loop": self.options.loop,
            "loop_description": self.options.describe_loop(),
            "rate": self.options.rate,
            "keepalive": self.options.keepalive,
            "connections": self.options.connections,
            "threads": self.threads,
            "duration_s": self.options.duration_s,
            "measured_duration_s": round(self.duration_s, 3),
            "warmup_s": self.warmup_s,
            "timeout_s": self.options.timeout_s,
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "bytes_read": self.bytes_read,
            "latency_us": {k: (None if v is None else round(v, 1))
                           for k, v in self.latency_us.items()},
            "percentiles": self.percentile_kind,
            "errors": dict(self.errors),
            "socket_errors": self.socket_errors,
            "non_2xx": self.non_2xx,
            "non_2xx_definition": self.non_2xx_definition,
            "open_loop": self.open_loop,
            "flagged": self.flagged,
            "reasons": self.reasons,
            "all_failed": self.all_failed,
            "notes": list(self.notes),
        }


def flag_reasons(result: LoadResult) -> list[str]:
    """Why a run's figures should not be trusted as they stand (empty: nothing to flag)."""
    reasons = []
    if result.requests == 0:
        reasons.append("no request got an answer")
    if result.socket_errors:
        parts = ", ".join(f"{kind} {count}" for kind, count in result.errors.items() if count)
        reasons.append(f"{result.socket_errors} socket error(s): {parts}")
    if result.non_2xx:
        reasons.append(f"{result.non_2xx} of {result.requests} responses were errors "
                       f"({result.non_2xx_definition})")
    if result.generator == "builtin" and result.options.rate is None:
        reasons.append(BUILTIN_WARNING)
    loop = result.open_loop
    if loop and loop.get("target_rate") and result.requests:
        achieved = loop.get("achieved_rate") or 0.0
        if achieved < loop["target_rate"] * (1 - RATE_SHORTFALL):
            reasons.append(f"achieved {achieved:,.0f} req/s, short of the {loop['target_rate']:g} "
                           "req/s asked for: the client or the server could not keep up")
    return reasons


# -- parsing --------------------------------------------------------------------------------

def parse_wrk_report(stdout: str) -> dict[str, float] | None:
    """The figures from report.lua's ``LABCTL-WRK-RESULT {...}`` line, or None without one."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith(RESULT_PREFIX):
            try:
                data = json.loads(line[len(RESULT_PREFIX):])
            except ValueError:
                return None
            return {key: float(value) for key, value in data.items()}
    return None


_TIME_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
_BYTES_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _wrk_time_us(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(match.group(1)) * _TIME_UNITS_US[match.group(2)]


def parse_wrk_text(stdout: str) -> dict[str, float] | None:
    """The same figures as ``parse_wrk_report`` from wrk's human-readable output (run with
    ``--latency``), for a wrk that ran without labctl's script. None when it has no summary.

    wrk prints times rounded to 2 decimals in the unit it picks ("1.23ms"), so these figures are
    coarser than the script's.
    """
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read",
                     stdout, re.MULTILINE)
    if not done:
        return None
    figures: dict[str, float] = {
        "requests": float(done.group(1)),
        "duration_us": float(done.group(2)) * _TIME_UNITS_US[done.group(3)],
        "bytes": float(done.group(4)) * _BYTES_UNITS[done.group(5)],
        "errors_connect": 0.0, "errors_read": 0.0, "errors_write": 0.0,
        "errors_timeout": 0.0, "errors_status": 0.0,
    }
    stats = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%", stdout, re.MULTILINE)
    if stats:
        figures["mean_us"] = _wrk_time_us(stats.group(1))
        figures["stdev_us"] = _wrk_time_us(stats.group(2))
        figures["max_us"] = _wrk_time_us(stats.group(3))
    for pct, value in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", stdout, re.MULTILINE):
        figures[f"p{pct}_us"] = _wrk_time_us(value)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       stdout)
    if errors:
        for kind, value in zip(("connect", "read", "write", "timeout"), errors.groups()):
            figures[f"errors_{kind}"] = float(value)
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    if status:
        figures["errors_status"] = float(status.group(1))
    return figures


def parse_wrk_version(text: str) -> str | None:
    """``wrk debian/4.1.0-3+b2 [epoll] Copyright…`` → ``debian/4.1.0-3+b2 [epoll]``."""
    for line in text.splitlines():
        line = line.strip().removeprefix(VERSION_PREFIX)
        match = re.match(r"^wrk (\S+)(?: (\[\w+\]))?", line)
        if match:
            return " ".join(part for part in match.groups() if part)
    return None


def wrk_figures(stdout: str, stderr: str = "") -> tuple[dict[str, float], bool]:
    """wrk's figures from its output: (figures, from_script). LabctlError when it has none."""
    figures = parse_wrk_report(stdout)
    if figures is not None:
        return figures, True
    figures = parse_wrk_text(stdout)
    if figures is not None:
        return figures, False
    output = "\n".join(part for part in (stdout.strip(), stderr.strip()) if part)
    last = output.splitlines()[-1] if output else "it printed nothing"
    raise LabctlError(f"wrk produced no results ({last})", "Its output is below",
                      details=output or None)


def wrk_args(options: LoadOptions, threads: int, url: str, script: str) -> tuple[list[str], int]:
    """wrk's arguments for ``options`` against ``url`` (path included), and the whole seconds it
    will run: wrk takes durations in whole seconds only."""
    seconds = max(1, round(options.duration_s))
    timeout = max(1, math.ceil(options.timeout_s))
    args = [f"-t{threads}", f"-c{options.connections}", f"-d{seconds}s", "--timeout",
            f"{timeout}s", "--latency", "-s", script]
    if not options.keepalive:
        args += ["-H", "Connection: close"]
    return args + [url], seconds


def by_hand_command(options: LoadOptions, threads: int, url: str,
                    cpuset: str | None) -> list[str]:
    """The same wrk load typed in a shell on this machine (without labctl's script)."""
    args, _ = wrk_args(options, threads, url, "")
    args = [a for a in args if a not in ("-s", "")]
    pin = ["taskset", "-c", cpuset] if cpuset else []
    return [*pin, "wrk", *args]


def result_from_wrk(figures: dict[str, float], *, from_script: bool, **fields: Any) -> LoadResult:
    requests = int(figures.get("requests", 0))
    # wrk records no latency for a request that timed out: when every answer timed out, its
    # empty histogram reports 0 µs, which is not a latency anyone saw.
    histogram_empty = not figures.get("max_us")

    def latency(key: str) -> float | None:
        value = figures.get(key)
        return None if value is None or requests == 0 or histogram_empty else value

    notes = list(fields.pop("notes", []))
    if not from_script:
        notes.append("wrk's summary line was missing: figures parsed from wrk's text output "
                     "(rounded to 2 decimals); p99.9 and min are not available")
    return LoadResult(
        generator="wrk", requests=requests,
        duration_s=figures.get("duration_us", 0.0) / 1e6,
        latency_us={"p50": latency("p50_us"), "p90": latency("p90_us"), "p99": latency("p99_us"),
                    "max": latency("max_us"), "min": latency("min_us"),
                    "mean": latency("mean_us"), "stdev": latency("stdev_us"),
                    "p75": latency("p75_us"), "p999": latency("p999_us")},
        percentile_kind=WRK_PERCENTILES,
        errors={kind: int(figures.get(f"errors_{kind}", 0))
                for kind in ("connect", "read", "write", "timeout")},
        non_2xx=int(figures.get("errors_status", 0)), non_2xx_definition=WRK_NON_2XX,
        bytes_read=int(figures["bytes"]) if "bytes" in figures else None,
        notes=notes, **fields)


# -- CPUs -----------------------------------------------------------------------------------


def default_threads(options: LoadOptions, cpuset: str | None) -> int:
    if options.threads is not None:
        return options.threads
    cores = len(parse_cpuset(cpuset)) if cpuset else max(1, hostinfo.usable_cores())
    return max(1, min(cores, options.connections))


def _shared_cpu_note(cpuset: str | None) -> list[str]:
    if cpuset is not None:
        return []
    return ["the load generator and the server share CPUs (this machine cannot keep them apart): "
            "the client's own work slows the server down"]


# -- generators -----------------------------------------------------------------------------


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


class ContainerWrk(Generator):
    """Debian's wrk in a container of its own, on the client CPUs, over the Docker bridge."""

    name = "wrk"
    where = "container"

    def __init__(self, docker_runtime) -> None:
        super().__init__()
        self.docker = docker_runtime
        self.image_details: dict[str, Any] = {}

    def prepare(self, progress: ProgressCallback | None = None, *, rebuild: bool = False) -> None:
        buildargs = {config.DEBIAN_IMAGE_ARG: config.base_image(config.DEBIAN_IMAGE_ARG,
                                                                config.DEFAULT_DEBIAN_IMAGE)}
        build = self.docker.build_image(WRK_CONTEXT, WRK_IMAGE_TAG, buildargs, progress,
                                        rebuild=rebuild, what="wrk load generator")
        self.image_details = build.as_dict()

    def _target(self, instance: Instance) -> tuple[str, str, str | None]:
        """(URL wrk uses, how it gets there, Docker network mode)."""
        from labctl.runtime.docker import CONTAINER_PORT

        if instance.path_kind == "loopback":
            # A native server on 127.0.0.1: only the host's network namespace reaches it.
            return instance.url, f"host network to {instance.url}", "host"
        bridge_ip = instance.extra.get("bridge_ip")
        if not bridge_ip:
            raise LabctlError(f"the {instance.server.title} container has no bridge IP for the "
                              "wrk container to reach", "Use --generator host or builtin")
        return (f"http://{bridge_ip}:{CONTAINER_PORT}",
                f"over the Docker bridge to {bridge_ip}:{CONTAINER_PORT}", None)

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        from labctl.runtime import docker as docker_rt

        docker = docker_rt._docker_module()
        base_url, route, network_mode = self._target(instance)
        threads = default_threads(options, cpuset)
        args, seconds = wrk_args(options, threads, base_url + options.path, WRK_SCRIPT_IN_IMAGE)
        labels = {
            docker_rt.LABEL: "1", docker_rt.LABEL_SESSION: SESSION_ID,
            docker_rt.LABEL_SERVER: "wrk", docker_rt.LABEL_PID: str(os.getpid()),
            docker_rt.LABEL_HOST: socket.gethostname(), "labctl.role": "loadgen",
        }
        # Print the version first, then become wrk (exec: it gets the signals itself).
        entry = ["sh", "-c", f'printf "{VERSION_PREFIX}%s\\n" "$(head -n 1 {WRK_VERSION_IN_IMAGE})"'
                             '; exec wrk "$@"', "wrk"]
        extra: dict[str, Any] = {}
        if network_mode:
            extra["network_mode"] = network_mode
        else:
            # The client's own network namespace: a wide port range, so a keep-alive-off run
            # never runs out of ephemeral ports. The server's side is untouched.
            extra["sysctls"] = {"net.ipv4.ip_local_port_range": "1024 65535"}
        container = None
        try:
            container = self.docker.client.containers.create(
                WRK_IMAGE_TAG, entrypoint=entry, command=args,
                name=f"labctl-wrk-{SESSION_ID}-{secrets.token_hex(2)}", labels=labels,
                cpuset_cpus=cpuset, mem_limit=CONTAINER_MEMORY, detach=True, **extra)
            container.start()
            try:
                status = container.wait(timeout=seconds + options.timeout_s + EXTRA_WAIT_S)
            except docker.errors.APIError:
                raise
            except Exception as exc:  # noqa: BLE001 - the SDK's HTTP read timeout: wrk hung
                raise LabctlError(f"wrk did not finish within {seconds + EXTRA_WAIT_S:g} s "
                                  f"({type(exc).__name__})",
                                  "Try again; `labctl down` removes anything left") from None
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        except docker.errors.APIError as exc:
            raise LabctlError(f"the wrk container failed: {exc.explanation or exc}",
                              "Check the engine with `docker info`, or use --generator host "
                              "or builtin") from None
        finally:
            if container is not None:
                _remove_container(container, docker)
        if status.get("StatusCode", 0) != 0 and parse_wrk_report(stdout) is None:
            raise LabctlError(f"wrk exited with status {status.get('StatusCode')}: "
                              f"{(stderr or stdout).strip().splitlines()[-1:] or ['no output']}",
                              "Its output is below", details=(stdout + stderr).strip() or None)
        figures, from_script = wrk_figures(stdout, stderr)
        notes = self.notes + _duration_note(options, seconds) + _shared_cpu_note(cpuset)
        return result_from_wrk(
            figures, from_script=from_script, version=parse_wrk_version(stdout),
            where="container",
            where_detail=(f"wrk in a container ({WRK_IMAGE_TAG}) on {describe_cpus(cpuset)}, "
                          f"{route}"),
            client_cpuset=cpuset, target_url=base_url + options.path, options=options,
            threads=threads, command=["wrk", *args],
            by_hand=by_hand_command(options, threads, base_url + options.path, cpuset),
            notes=notes)


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
        if self.version is None and self.executable:
            self.prepare()
        threads = default_threads(options, cpuset)
        url = instance.url + options.path
        args, seconds = wrk_args(options, threads, url, str(WRK_SCRIPT))
        process = subprocess.Popen(
            [self.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
        if process.returncode != 0 and parse_wrk_report(stdout) is None:
            raise LabctlError(f"wrk exited with status {process.returncode}: "
                              f"{(stderr or stdout).strip().splitlines()[-1:] or ['no output']}",
                              "Its output is below", details=(stdout + stderr).strip() or None)
        figures, from_script = wrk_figures(stdout, stderr)
        notes = self.notes + _duration_note(options, seconds) + _shared_cpu_note(cpuset)
        pinned = f"pinned to {describe_cpus(cpuset)}" if cpuset else "not pinned (shared CPUs)"
        return result_from_wrk(
            figures, from_script=from_script, version=self.version, where="host",
            where_detail=f"wrk as a host process ({self.executable}), {pinned}, to "
                         f"{instance.path}",
            client_cpuset=cpuset, target_url=url, options=options, threads=threads,
            command=[self.executable or "wrk", *args],
            by_hand=by_hand_command(options, threads, url, cpuset), notes=notes)


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


def _remove_container(container, docker) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


# -- choosing -------------------------------------------------------------------------------


def choose_generator(runtime: Runtime, options: LoadOptions) -> Generator:
    """The generator ``options.generator`` names; for ``auto``, the first choice (see
    ``prepare_generator`` for the fallbacks)."""
    choice = options.generator
    if choice == "builtin":
        return BuiltinClient()
    if choice == "host":
        return HostWrk()
    if choice == "container":
        return ContainerWrk(_docker_runtime(runtime))
    # auto
    if options.rate is not None:
        generator: Generator = BuiltinClient()
        generator.notes.append("a fixed --rate runs on the built-in open-loop client: Debian's "
                               "wrk cannot pace requests")
        return generator
    if runtime.name == "docker":
        return ContainerWrk(runtime)
    return HostWrk() if shutil.which("wrk") else _fallback_builtin("no wrk on PATH")


def _fallback_builtin(why: str) -> BuiltinClient:
    generator = BuiltinClient()
    generator.notes.append(f"no real load generator could be had ({why}): falling back to the "
                           "built-in Python client")
    return generator


def _docker_runtime(runtime: Runtime):
    from labctl.runtime.docker import DockerRuntime

    if runtime.name == "docker":
        return runtime
    docker_runtime = DockerRuntime()
    docker_runtime.check()
    return docker_runtime


def prepare_generator(runtime: Runtime, options: LoadOptions,
                      progress: ProgressCallback | None = None) -> Generator:
    """Choose and prepare the generator (building the wrk image if needed).

    With ``auto``, a container wrk that cannot be built falls back to a host wrk, then to the
    built-in client; each fallback is recorded in the generator's ``notes``.
    """
    options.validate()
    generator = choose_generator(runtime, options)
    try:
        generator.prepare(progress)
        return generator
    except LabctlError as problem:
        if options.generator != "auto" or not isinstance(generator, ContainerWrk):
            raise
        why = f"the wrk image could not be built: {problem.message}"
    if shutil.which("wrk"):
        host = HostWrk()
        host.prepare(progress)
        host.notes.append(f"{why}; using the wrk installed on this machine instead")
        return host
    return _fallback_builtin(why)


def run_load(runtime: Runtime, instance: Instance, options: LoadOptions,
             client_cpus: str | None, *, generator: Generator | None = None,
             warmup_s: float = 0.0, progress: ProgressCallback | None = None) -> LoadResult:
    """Send ``options``' load to a running, healthy ``instance`` and return what came back.

    The entry point for ``labctl load`` and ``labctl compare --load``:

    - ``runtime``: the runtime ``instance`` runs on (the container generator builds its image
      with it, or with a Docker runtime of its own when ``runtime`` is local);
    - ``client_cpus``: the CPUs the generator is pinned to, e.g. ``client_cpuset(instance.limits)``
      ("0" on a 2-core machine whose servers run on CPU 1); None when they cannot be separated;
    - ``generator``: one from ``prepare_generator`` to reuse across several servers (the image is
      built once); chosen and prepared here when None;
    - ``warmup_s``: a load of that many seconds sent first, with the same options, and discarded.

    Never prints. Raises LabctlError when the generator cannot run at all; a run with socket
    errors or error responses is returned with ``flagged`` set and its ``reasons``.
    """
    options.validate()
    if generator is None:
        generator = prepare_generator(runtime, options, progress)
    if warmup_s > 0:
        generator.run(instance, replace(options, duration_s=warmup_s), client_cpus)
    result = generator.run(instance, options, client_cpus)
    result.warmup_s = warmup_s
    return result


COMPARE_WARMUP_S = 1.0
_prepared: dict[tuple[Any, str, bool], Generator] = {}


def load_for_compare(runtime: Runtime, instance: Instance, options: LoadOptions) -> dict[str, Any]:
    """What ``labctl compare --load`` calls for each server: ``run_load`` with the generator on
    the CPUs the server is not pinned to (``client_cpuset``), a discarded warm-up of
    ``COMPARE_WARMUP_S`` (at most the load's own duration), and the generator chosen and
    prepared once per runtime, so every server meets the same generator. Returns
    ``LoadResult.as_dict()``.
    """
    key = (runtime, options.generator, options.rate is None)
    generator = _prepared.get(key)
    if generator is None:
        generator = _prepared[key] = prepare_generator(runtime, options)
    result = run_load(runtime, instance, options, client_cpuset(instance.limits),
                      generator=generator, warmup_s=min(COMPARE_WARMUP_S, options.duration_s))
    return result.as_dict()


# -- the built-in client --------------------------------------------------------------------


class _RequestFailed(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class BuiltinOutcome:
    requests: int = 0
    non_2xx: int = 0
    bytes_read: int = 0
    duration_s: float = 0.0
    latencies_us: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0})
    # open loop
    slots: int = 0          # requests the schedule asked for
    sent: int = 0
    lateness_us: list[float] = field(default_factory=list)   # the client's own timer lateness

    def latency_summary(self) -> dict[str, float | None]:
        from labctl.stats import percentile

        values = sorted(self.latencies_us)
        if not values:
            return {key: None for key in ("p50", "p90", "p99", "max", "min", "mean", "p75",
                                          "p999")}
        return {"p50": percentile(values, 50), "p90": percentile(values, 90),
                "p99": percentile(values, 99), "max": values[-1], "min": values[0],
                "mean": sum(values) / len(values), "p75": percentile(values, 75),
                "p999": percentile(values, 99.9)}

    def open_loop_facts(self, options: LoadOptions) -> dict[str, Any] | None:
        if options.rate is None:
            return None
        from labctl.stats import percentile

        lateness = sorted(self.lateness_us)
        return {
            "target_rate": options.rate,
            "achieved_rate": round(self.requests / self.duration_s, 1) if self.duration_s else 0.0,
            "scheduled": self.slots,
            "sent": self.sent,
            "not_sent": self.slots - self.sent,
            "client_lateness_p99_us": round(percentile(lateness, 99), 1) if lateness else None,
        }


def _http_request(host: str, port: int, path: str, keepalive: bool) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: labctl-load",
             "Accept: */*"]
    if not keepalive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, int]:
    """(status, server keeps the connection open, bytes read) of one HTTP/1.1 response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        keep = not head.startswith(b"HTTP/1.0") and b"\r\nconnection: close" not in lower
        size = len(head)
        index = lower.find(b"\r\ncontent-length:")
        if index >= 0:
            end = lower.index(b"\r\n", index + 2)
            length = int(lower[index + 17:end])
            if length:
                await reader.readexactly(length)
            size += length
        elif b"\r\ntransfer-encoding: chunked" in lower:
            while True:
                line = await reader.readuntil(b"\r\n")
                length = int(line.split(b";", 1)[0], 16)
                await reader.readexactly(length + 2)
                size += len(line) + length + 2
                if length == 0:
                    break
        elif status not in (204, 304) and not 100 <= status < 200:
            body = await reader.read()   # no framing: the body ends when the server closes
            size += len(body)
            keep = False
        return status, keep, size
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError,
            ValueError):
        raise _RequestFailed("read") from None


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket
            pass


async def _connect(host: str, port: int, timeout_s: float) -> _Connection:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except asyncio.TimeoutError:
        raise _RequestFailed("connect") from None
    except OSError:
        raise _RequestFailed("connect") from None
    return _Connection(reader, writer)


async def _exchange(conn: _Connection, request: bytes) -> tuple[int, bool, int]:
    try:
        conn.writer.write(request)
    except (ConnectionError, OSError, RuntimeError):
        raise _RequestFailed("write") from None
    return await _read_response(conn.reader)


async def run_builtin(url: str, options: LoadOptions) -> BuiltinOutcome:
    """Send ``options``' load to ``url`` with ``options.connections`` connections.

    Closed loop: each connection sends its next request as soon as the answer to the previous
    one arrives. Open loop: request i is due at start + i/rate; the next free connection sends
    it, and its latency counts from the due time if no connection was free then (coordinated
    omission corrected), from the real send time otherwise (the client's own timer lateness is
    not the server's; it is reported as ``lateness_us``). Requests still due at the end are not
    sent, and counted as such.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    request = _http_request(host, port, path, options.keepalive)
    outcome = BuiltinOutcome()
    clock = time.perf_counter
    start = clock()
    end = start + options.duration_s
    timeout = options.timeout_s
    last_done = start
    rate = options.rate
    interval = 1.0 / rate if rate else 0.0
    if rate:
        outcome.slots = max(1, math.floor(rate * options.duration_s))
    next_slot = 0

    def fail(kind: str) -> None:
        outcome.errors[kind] += 1

    async def one(conn: _Connection | None, began: float) -> tuple[_Connection | None, float]:
        """One request; returns the connection to reuse (None: closed) and the done time."""
        nonlocal last_done
        try:
            async with _timeout_scope(timeout):
                if conn is None:
                    conn = await _connect(host, port, timeout)
                    if rate is None:
                        began = clock()   # closed loop: as wrk, connecting is not timed
                status, keep, size = await _exchange(conn, request)
        except _RequestFailed as failure:
            fail(failure.kind)
            if conn is not None:
                conn.close()
            return None, clock()
        except (asyncio.TimeoutError, TimeoutError):
            fail("timeout")
            if conn is not None:
                conn.close()
            return None, clock()
        done = clock()
        outcome.requests += 1
        outcome.bytes_read += size
        if not 200 <= status < 300:
            outcome.non_2xx += 1
        outcome.latencies_us.append((done - began) * 1e6)
        last_done = max(last_done, done)
        if not keep or not options.keepalive:
            conn.close()
            conn = None
        return conn, done

    async def closed_worker() -> None:
        conn = None
        while clock() < end:
            ok_before = outcome.errors["connect"]
            conn, _ = await one(conn, clock())
            if outcome.errors["connect"] != ok_before:
                await asyncio.sleep(0.01)   # refused: do not spin
        if conn is not None:
            conn.close()

    async def open_worker() -> None:
        nonlocal next_slot
        conn = None
        free_at = clock()
        while True:
            slot = next_slot
            if slot >= outcome.slots:
                break
            next_slot += 1
            due = start + slot * interval
            now = clock()
            if now >= end:
                break
            if due > now:
                await asyncio.sleep(due - now)
            sent = clock()
            if free_at > due:
                began = due                     # waited for a free connection: it counts
            else:
                began = sent                    # the client's timer was late: not the server's
                outcome.lateness_us.append((sent - due) * 1e6)
            outcome.sent += 1
            conn, free_at = await one(conn, began)
        if conn is not None:
            conn.close()

    worker = closed_worker if rate is None else open_worker
    await asyncio.gather(*(worker() for _ in range(options.connections)))
    outcome.duration_s = max(end, last_done) - start
    return outcome


class _timeout_scope:
    """``asyncio.timeout`` where it exists (3.11+), else no per-request timeout beyond connect."""

    def __init__(self, seconds: float) -> None:
        self._inner = asyncio.timeout(seconds) if hasattr(asyncio, "timeout") else None

    async def __aenter__(self):
        if self._inner is not None:
            await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        if self._inner is not None:
            return await self._inner.__aexit__(*exc)
        return False
