"""What load to send (``LoadOptions``), what came back (``LoadResult``), and when a run's
figures should not be trusted as they stand (``flag_reasons``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labctl.errors import UsageProblem
from labctl.results import documents

GENERATORS = ("auto", "container", "host", "builtin")
DEFAULT_TIMEOUT_S = 2.0           # wrk's default: slower answers count as timeout errors
RATE_SHORTFALL = 0.05             # open loop: flag when the achieved rate is >5 % short
BUILTIN_WARNING = ("built-in Python client: it is the bottleneck above a few thousand req/s; "
                   "these numbers measure labctl, not the server")


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

    def as_dict(self) -> documents.LoadPart:
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
