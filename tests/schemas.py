"""The JSON documents of docs/json.md as shapes, and a checker that holds output to them.

A shape is a dict (every key documented is required, more may appear: new fields are allowed by
the schema rules), a type or tuple of types, ``Optional(shape)``, ``ListOf(shape)`` or
``MapOf(shape)`` (an object whose values all have that shape). ``int`` never accepts a bool (in
Python a bool is an int; in the documents it is a different thing), and ``NUMBER`` is an int or a
float, not a bool either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Optional:
    shape: Any


@dataclass(frozen=True)
class ListOf:
    shape: Any


@dataclass(frozen=True)
class MapOf:
    shape: Any


NUMBER = (int, float)


def check(value: Any, shape: Any, where: str = "document") -> None:
    """Assert that ``value`` has ``shape``; the message names the first place that does not."""
    if isinstance(shape, Optional):
        if value is not None:
            check(value, shape.shape, where)
    elif isinstance(shape, ListOf):
        assert isinstance(value, list), f"{where} is {type(value).__name__}, expected a list"
        for index, item in enumerate(value):
            check(item, shape.shape, f"{where}[{index}]")
    elif isinstance(shape, MapOf):
        assert isinstance(value, dict), f"{where} is {type(value).__name__}, expected an object"
        for key, item in value.items():
            check(item, shape.shape, f"{where}.{key}")
    elif isinstance(shape, dict):
        assert isinstance(value, dict), f"{where} is {type(value).__name__}, expected an object"
        for key, sub in shape.items():
            assert key in value, f"{where}.{key} is missing"
            check(value[key], sub, f"{where}.{key}")
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        is_bool = isinstance(value, bool)
        ok = isinstance(value, types) and (bool in types or not is_bool)
        assert ok, f"{where} is {type(value).__name__} ({value!r}), expected {shape}"


SUMMARY = {**{k: NUMBER for k in ("min", "p50", "p90", "p99", "max", "mean", "p50_low",
                                   "p50_high")}, "count": int}
SERIES = {"unit": str, "samples": int, "non_2xx": int, "errors": int, "summary": Optional(SUMMARY),
          "phases_p50": Optional({"connect_us": NUMBER, "ttfb_us": NUMBER})}
HOST = {"cpu": str, "cores": int, "cores_usable": int, "os": str, "python": str, "libcurl": str,
        "labctl_version": str, "source_revision": str}
DOCKER_RUNTIME = {"runtime": str, "engine_version": str, "api_version": str, "os": str,
                  "docker_sdk": str}
LOCAL_RUNTIME = {"runtime": str, "toolchains": MapOf(Optional(str))}
LIMITS = {"cpus": NUMBER, "memory_mb": int, "cpuset": Optional(str)}
CHECK = {"check": str, "status": str, "reason": str}
VERIFICATION = {"status": str, "checks": ListOf(CHECK)}
SERVER = {"name": str, "language": str, "framework": str, "framework_version": str,
          "processes": int, "concurrency": str}
BUILD = {"artifact": str, "built": bool, "seconds": NUMBER, "size_bytes": Optional(int)}
PATH = {"kind": str, "description": str}
ENDPOINTS = MapOf({"fresh": SERIES, "keepalive": SERIES})

RUN = {
    "schema": str, "created": str, "server": SERVER, "runtime": dict, "limits": LIMITS,
    "host": HOST, "build": BUILD, "path": PATH, "url": str, "cold_start_ms": NUMBER,
    "verification": VERIFICATION,
    "probe": {"client": str, "samples": int, "warmup_discarded": int, "modes": MapOf(str)},
    "endpoints": ENDPOINTS, "curl": str, "kept_running": bool,
}

COMPARE_SERVER = {
    **SERVER, "build": BUILD, "path": PATH, "limits": LIMITS, "verification": VERIFICATION,
    "measured": bool, "idle_memory_bytes": Optional(int),
    "cold_start_ms": {"median": NUMBER, "samples": ListOf(NUMBER)},
}
MEASURED_SERVER = {**COMPARE_SERVER, "latency": ENDPOINTS}
COMPARE = {
    "schema": str, "id": str, "created": str, "runtime": dict, "host": HOST, "limits": LIMITS,
    "parameters": {"samples": int, "warmup_discarded": int, "block": int, "cold_starts": int,
                   "paths": ListOf(str), "modes": MapOf(str), "interleaved": bool},
    "servers": MapOf(COMPARE_SERVER),
    "analysis": {"ratios": MapOf({"fastest": str, "p50_ratio": MapOf(NUMBER)}),
                 "ties": ListOf({"path": str, "mode": str, "servers": ListOf(str)}),
                 "reading": ListOf(str)},
}

VERIFY = {"schema": str, "runtime": str,
          "servers": ListOf({"server": str, "status": str, "checks": ListOf(CHECK)})}

LOAD_PART = {
    "generator": {"name": str, "version": Optional(str), "where": str, "description": str,
                  "cpuset": Optional(str), "command": str, "by_hand": Optional(str)},
    "target_url": str, "path": str, "loop": str, "keepalive": bool, "connections": int,
    "threads": int, "duration_s": NUMBER, "measured_duration_s": NUMBER, "warmup_s": NUMBER,
    "timeout_s": NUMBER, "requests": int, "requests_per_s": NUMBER, "bytes_read": Optional(int),
    "latency_us": {k: Optional(NUMBER) for k in ("p50", "p90", "p99", "max")},
    "percentiles": str,
    "errors": {k: int for k in ("connect", "read", "write", "timeout")}, "socket_errors": int,
    "non_2xx": int, "non_2xx_definition": str, "open_loop": Optional(dict), "flagged": bool,
    "reasons": ListOf(str), "all_failed": bool, "notes": ListOf(str),
}
OPEN_LOOP = {"target_rate": NUMBER, "achieved_rate": NUMBER, "not_sent": int}
LOAD = {
    "schema": str, "id": str, "created": str, "server": SERVER, "runtime": dict, "build": BUILD,
    "limits": LIMITS, "cpus": {"server": Optional(str), "client": Optional(str), "separated": bool},
    "path": PATH, "url": str, "load": LOAD_PART, "flagged": bool, "host": HOST,
    "stop_seconds": NUMBER,
}

RESULTS = {"schema": str, "results": ListOf({"id": str, "kind": str, "created": str,
                                             "runtime": str, "servers": ListOf(str)})}
