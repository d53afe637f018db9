"""oha, the open-loop load generator: its arguments, its JSON report, and where it runs.

A fixed request rate (``--rate``) is the honest way to measure latency under load: a closed-loop
client such as wrk waits for each answer before sending the next request, so a stalled server
also stalls the client and the stall never shows in the latencies (coordinated omission). oha
sends at ``-q RATE`` whatever the server does and, with ``--latency-correction``, times each
request from when it was *due*, not from when a busy client got round to sending it.

oha (crates.io) is compiled once: in the image's build stage on the Docker runtime
(labctl/docker/oha), or with the machine's cargo into labctl's cache directory otherwise.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labctl import config, paths
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.measure.loadgen.generators import (
    EXTRA_WAIT_S,
    ContainerGenerator,
    Generator,
    default_threads,
)
from labctl.measure.loadgen.options import LoadOptions, LoadResult
from labctl.runtime.base import Instance, ProgressCallback
from labctl.runtime.cpus import describe_cpus, pin_child

OHA_VERSION = "1.16.0"
OHA_IMAGE_TAG = "labctl/oha:latest"
OHA_CONTEXT = paths.docker_context("oha")
OHA_PERCENTILES = ("oha's exact percentiles of every answered request; open loop with latency "
                   "correction: each request timed from when it was due to be sent, so time a "
                   "request spent waiting behind a slow one counts (no coordinated omission)")
OHA_NON_2XX = "responses with status 400 or above (as wrk counts them)"
DEADLINE_ERROR = "aborted due to deadline"   # in flight when the duration ended: not an error


def oha_args(options: LoadOptions, url: str) -> list[str]:
    """oha's command line (after the program name) for ``options``, an open loop."""
    if options.rate is None:
        raise ValueError("oha is used for open-loop runs only (a --rate)")
    args = ["-z", f"{options.duration_s:g}s", "-c", str(options.connections),
            "-q", f"{options.rate:g}", "--latency-correction", "--no-tui",
            "--output-format", "json", "-t", f"{options.timeout_s:g}s",
            # Percentiles of the 2xx answers apart: a fast 503 must not flatter the latency.
            "--stats-success-breakdown"]
    if not options.keepalive:
        args.append("--disable-keepalive")
    return args + [url]


def parse_oha_report(stdout: str) -> dict[str, Any]:
    """oha's JSON report (``--output-format json``); LabctlError when there is none."""
    start = stdout.find("{")
    try:
        report = json.loads(stdout[start:]) if start >= 0 else None
    except ValueError:
        report = None
    if not isinstance(report, dict) or "summary" not in report:
        raise LabctlError("oha printed no report", "Its output is below",
                          details=stdout.strip()[-2000:] or None)
    return report


@dataclass(frozen=True)
class Answer:
    """One answered request of an open-loop run, from oha's per-request output (``csv``)."""

    due_s: float            # when it was due, counted from the start of the run
    latency_s: float        # from when it was due to its complete answer (latency correction)
    status: int
    new_connection: bool    # oha opened a connection for it (its dial-up time is not zero)


CSV_COLUMNS = ("request-start", "DNS+dialup", "request-duration", "status")


def oha_answers_args(options: LoadOptions, url: str) -> list[str]:
    """``oha_args`` with one line per answered request instead of the summary (``csv``)."""
    args = oha_args(options, url)
    args[args.index("--output-format") + 1] = "csv"
    args.remove("--stats-success-breakdown")
    return args


def parse_oha_answers(stdout: str) -> list[Answer]:
    """oha's ``--output-format csv``: a header, then one line per answered request (requests
    that timed out or failed have none). LabctlError when the header is missing."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("request-start,")), None)
    if start is None:
        raise LabctlError("oha printed no per-request output", "Its output is below",
                          details=stdout.strip()[-2000:] or None)
    rows = csv.DictReader(lines[start:])
    missing = [column for column in CSV_COLUMNS if column not in (rows.fieldnames or [])]
    if missing:
        raise LabctlError(f"oha's per-request output has no {', '.join(missing)} column",
                          f"labctl reads oha {OHA_VERSION}'s; rebuild it (labctl doctor)")
    try:
        return [Answer(due_s=float(row["request-start"]),
                       latency_s=float(row["request-duration"]), status=int(row["status"]),
                       new_connection=float(row["DNS+dialup"]) > 0) for row in rows]
    except (TypeError, ValueError) as bad:
        raise LabctlError(f"oha's per-request output has a line labctl cannot read ({bad})",
                          "Its output is below", details=stdout.strip()[-2000:]) from None


def _seconds_to_us(value: Any) -> float | None:
    return float(value) * 1e6 if isinstance(value, (int, float)) else None


def _error_kinds(distribution: dict[str, int]) -> tuple[dict[str, int], int]:
    """oha's error messages sorted into wrk's kinds, and the requests cut by the deadline."""
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    deadline = 0
    for message, count in distribution.items():
        text = message.lower()
        if DEADLINE_ERROR in text:
            deadline += count
        elif "timeout" in text or "timed out" in text:
            errors["timeout"] += count
        elif "refused" in text or "connect error" in text or "dns" in text:
            errors["connect"] += count
        elif "write" in text or "broken pipe" in text:
            errors["write"] += count
        else:
            errors["read"] += count
    return errors, deadline


def result_from_oha(report: dict[str, Any], *, options: LoadOptions, version: str | None,
                    threads: int, where: str, where_detail: str, client_cpuset: str | None, url: str,
                    command: list[str], notes: list[str]) -> LoadResult:
    summary = report.get("summary") or {}
    percentiles = report.get("latencyPercentiles") or {}
    statuses = {int(code): count for code, count in
                (report.get("statusCodeDistribution") or {}).items()}
    answered = sum(statuses.values())
    errors, cut_by_deadline = _error_kinds(report.get("errorDistribution") or {})
    duration = float(summary.get("total") or options.duration_s)
    scheduled = int(round(options.rate * duration)) if options.rate else None
    sent = answered + sum(errors.values()) + cut_by_deadline
    latency = {
        "p50": _seconds_to_us(percentiles.get("p50")),
        "p90": _seconds_to_us(percentiles.get("p90")),
        "p99": _seconds_to_us(percentiles.get("p99")),
        "max": _seconds_to_us(summary.get("slowest")),
        "min": _seconds_to_us(summary.get("fastest")),
        "mean": _seconds_to_us(summary.get("average")),
        "p75": _seconds_to_us(percentiles.get("p75")),
        "p999": _seconds_to_us(percentiles.get("p99.9")),
    }
    if cut_by_deadline:
        notes = [*notes, f"{cut_by_deadline} request(s) still in flight when the duration ended "
                         "were cut off (not counted as errors)"]
    return LoadResult(
        generator="oha", version=version, where=where, where_detail=where_detail,
        client_cpuset=client_cpuset, target_url=url, options=options,
        threads=threads, requests=answered, duration_s=duration,
        latency_us=latency, percentile_kind=OHA_PERCENTILES, errors=errors,
        non_2xx=sum(count for code, count in statuses.items() if code >= 400),
        non_2xx_definition=OHA_NON_2XX, command=command,
        by_hand=["oha", *command[1:]] if command else None,
        bytes_read=int(summary["totalData"]) if isinstance(summary.get("totalData"), int) else None,
        open_loop={"target_rate": options.rate,
                   "achieved_rate": round(answered / duration, 1) if duration else 0.0,
                   "scheduled": scheduled, "sent": sent,
                   "not_sent": max(0, scheduled - sent) if scheduled is not None else None,
                   "client_lateness_p99_us": None,
                   "statuses": {str(code): count for code, count in sorted(statuses.items())},
                   "latency_2xx_us": {
                       key: _seconds_to_us((report.get("latencyPercentilesSuccessful") or {})
                                           .get(key)) for key in ("p50", "p90", "p99")}},
        notes=notes)


def parse_oha_version(text: str) -> str | None:
    """"1.16.0" from oha's ``--version`` line ("oha 1.16.0")."""
    for line in text.splitlines():
        if line.strip().startswith("oha "):
            return line.strip().removeprefix("oha ").strip()
    return None


class ContainerOha(ContainerGenerator):
    """oha in a container of its own (built from crates.io once), on the client CPUs."""

    name = "oha"

    def prepare(self, progress: ProgressCallback | None = None, *, rebuild: bool = False) -> None:
        from labctl import servers

        # The same Rust image the Rust server builds on (LABCTL_RUST_IMAGE and friends).
        rust = servers.get("rust")
        buildargs = {
            config.DEBIAN_IMAGE_ARG: config.base_image(config.DEBIAN_IMAGE_ARG,
                                                       config.DEFAULT_DEBIAN_IMAGE),
            rust.base_image_arg: config.base_image(rust.base_image_arg, rust.default_base_image),
            "OHA_VERSION": OHA_VERSION,
        }
        self._build(OHA_CONTEXT, OHA_IMAGE_TAG, buildargs, progress, rebuild=rebuild,
                    what=f"oha {OHA_VERSION} load generator (compiled once)")

    def _execute(self, instance: Instance, options: LoadOptions, cpuset: str | None,
                 args_for: Any) -> tuple[str, list[str], str, str]:
        """Run oha with ``args_for(options, url)``: its stdout, its arguments, the URL and where
        it ran."""
        base_url, route, network_mode = self._target(instance)
        url = base_url + options.path
        args = args_for(options, url)
        entry = ["sh", "-c", 'cat /etc/labctl/oha-version; exec oha "$@"', "oha"]
        run = self._run_container(OHA_IMAGE_TAG, entry=entry, args=args, cpuset=cpuset,
                                  timeout_s=options.duration_s + options.timeout_s + EXTRA_WAIT_S,
                                  network_mode=network_mode)
        if run.exit_status != 0:
            raise LabctlError(f"oha exited with status {run.exit_status}",
                              "Its output is below", details=(run.stdout + run.stderr).strip())
        where_detail = f"oha in a container ({OHA_IMAGE_TAG}) on {describe_cpus(cpuset)}, {route}"
        return run.stdout, args, url, where_detail

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        stdout, args, url, where_detail = self._execute(instance, options, cpuset, oha_args)
        return result_from_oha(
            parse_oha_report(stdout), options=options, version=parse_oha_version(stdout),
            threads=default_threads(options, cpuset), where=self.where, where_detail=where_detail,
            client_cpuset=cpuset, url=url, command=["oha", *args], notes=list(self.notes))

    def run_answers(self, instance: Instance, options: LoadOptions,
                    cpuset: str | None) -> list[Answer]:
        """The same open loop, answered request by answered request."""
        return parse_oha_answers(self._execute(instance, options, cpuset, oha_answers_args)[0])


# Where the oha image keeps its binary (labctl/docker/oha/Dockerfile).
OHA_IN_IMAGE = "/usr/local/bin/oha"


def install_from_image(docker_runtime, bin_dir: Path,
                       progress: ProgressCallback | None = None) -> Path:
    """Put the oha that labctl's image compiled into ``bin_dir``, for the local runtime.

    A machine that runs labctl on both runtimes would otherwise compile oha twice: once in the
    image's build stage, once with cargo (each about four minutes on two cores). The image is
    built first when missing. The copy is kept only when it runs here and reports
    ``OHA_VERSION``: a binary from the image needs this machine's architecture and a C library
    at least as new as the image's. Raises EnvironmentProblem otherwise; compile with cargo
    then. For set-up scripts (scripts/test): labctl itself compiles the local runtime's oha
    with cargo (HostOha), so that it never needs an engine.
    """
    from labctl.runtime.docker import file_from_image

    ContainerOha(docker_runtime).prepare(progress)
    binary = file_from_image(docker_runtime, OHA_IMAGE_TAG, OHA_IN_IMAGE, "loadgen")
    if binary is None:
        raise LabctlError(f"{OHA_IMAGE_TAG} has no file at {OHA_IN_IMAGE}",
                          f"Remove the image (docker rmi {OHA_IMAGE_TAG}) and run again")
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / "oha"
    # Written beside the target and renamed over it: a reader never runs half a binary.
    fd, temporary = tempfile.mkstemp(prefix=".oha.", dir=bin_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(binary)
        os.chmod(temporary, 0o755)
        try:
            out = subprocess.run([temporary, "--version"], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            out = str(exc)
        if parse_oha_version(out) != OHA_VERSION:
            raise EnvironmentProblem(
                f"the oha from {OHA_IMAGE_TAG} does not run on this machine "
                f"({out.strip()[:120] or 'no version printed'})",
                f"Compile it here: cargo install oha --locked --version {OHA_VERSION}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def cached_oha() -> Path:
    """Where the local runtime keeps the oha it compiled."""
    return paths.cache_dir() / "tools" / f"oha-{OHA_VERSION}" / "bin" / "oha"


class HostOha(Generator):
    """An oha on this machine: on PATH, or compiled once with cargo into labctl's cache."""

    name = "oha"
    where = "host"

    def __init__(self, executable: str | None = None, *, may_compile: bool = True) -> None:
        super().__init__()
        self.executable = executable
        self.may_compile = may_compile
        self.version: str | None = None

    def find(self) -> str | None:
        if self.executable:
            return self.executable
        cached = cached_oha()
        return str(cached) if cached.exists() else shutil.which("oha")

    def prepare(self, progress: ProgressCallback | None = None) -> None:
        self.executable = self.find()
        if not self.executable:
            self.executable = self._compile(progress)
        try:
            out = subprocess.run([self.executable, "--version"], capture_output=True, text=True,
                                 timeout=10, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EnvironmentProblem(f"{self.executable} does not run ({exc})",
                                     f"Delete it; labctl compiles oha {OHA_VERSION} again") from None
        self.version = parse_oha_version(out.stdout)

    def _compile(self, progress: ProgressCallback | None) -> str:
        cargo = shutil.which("cargo")
        if not self.may_compile or not cargo:
            raise EnvironmentProblem(
                "no oha on this machine for an open-loop (--rate) run",
                f"Install it once: cargo install oha --locked --version {OHA_VERSION} "
                "(or run on the Docker runtime, which builds it in an image)")
        root = cached_oha().parent.parent
        if progress:
            progress(f"compiling oha {OHA_VERSION} with cargo, once (several minutes)")
        done = subprocess.run(
            [cargo, "install", "oha", "--locked", "--version", OHA_VERSION, "--root", str(root)],
            capture_output=True, text=True, check=False)
        if done.returncode != 0 or not cached_oha().exists():
            raise EnvironmentProblem(f"compiling oha {OHA_VERSION} failed",
                                     "The compiler's output is below",
                                     details=done.stderr.strip()[-3000:])
        return str(cached_oha())

    def _execute(self, instance: Instance, options: LoadOptions, cpuset: str | None,
                 args_for: Any) -> tuple[str, list[str], str, str]:
        """Run oha with ``args_for(options, url)``: its stdout, its arguments, the URL and where
        it ran."""
        if self.version is None:
            self.prepare()
        assert self.executable
        url = instance.url + options.path
        args = args_for(options, url)
        process = subprocess.Popen(
            [self.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, errors="replace", start_new_session=True,
            preexec_fn=pin_child(cpuset))
        try:
            stdout, stderr = process.communicate(
                timeout=options.duration_s + options.timeout_s + EXTRA_WAIT_S)
        except subprocess.TimeoutExpired:
            raise LabctlError(f"oha did not finish within {options.duration_s + EXTRA_WAIT_S:g} s",
                              "Try again with a shorter --duration") from None
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        if process.returncode != 0:
            raise LabctlError(f"oha exited with status {process.returncode}",
                              "Its output is below", details=(stdout + stderr).strip())
        where_detail = f"oha on this machine ({self.executable}) on {describe_cpus(cpuset)}"
        return stdout, args, url, where_detail

    def run(self, instance: Instance, options: LoadOptions, cpuset: str | None) -> LoadResult:
        stdout, args, url, where_detail = self._execute(instance, options, cpuset, oha_args)
        assert self.executable
        return result_from_oha(
            parse_oha_report(stdout), options=options, version=self.version,
            threads=default_threads(options, cpuset), where=self.where, where_detail=where_detail,
            client_cpuset=cpuset, url=url, command=[self.executable, *args],
            notes=list(self.notes))

    def run_answers(self, instance: Instance, options: LoadOptions,
                    cpuset: str | None) -> list[Answer]:
        """The same open loop, answered request by answered request."""
        return parse_oha_answers(self._execute(instance, options, cpuset, oha_answers_args)[0])
