"""The four servers, described as data.

Everything that differs between the four lives here (and in servers/<name>/); the runtimes, the
probe and the comparison are generic and never branch on a language by name.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from labctl import paths
from labctl.errors import UsageProblem


@dataclass(frozen=True)
class Server:
    name: str                       # go | python | rust | node: used in tags, labels, results
    language: str                   # for people: "Go"
    framework: str                  # for people: "net/http"
    aliases: tuple[str, ...]
    greeting: str                   # the exact body of GET /
    source_file: str                # the file a learner reads (shown by `labctl show`)
    base_image_arg: str             # the Dockerfile ARG that names its base image
    default_base_image: str         # that ARG's default: the official image
    concurrency_model: str          # how it serves requests, in a phrase (shown with results)
    processes: int = 1              # OS processes serving requests in the container
    # What a *blocking* wait inside a handler ties up (the bottleneck lab's model):
    # "connection" (a goroutine per connection), "event-loop" (the one loop), "worker-thread"
    # (one of the runtime's worker threads, one per core).
    blocking_unit: str = "event-loop"
    toolchain: tuple[str, ...] = field(default=())  # commands the local runtime needs
    # Where the source lives when it is not servers/<name> (test fixtures use this).
    source_override: Path | None = None

    @property
    def title(self) -> str:
        return f"{self.language} {self.framework}"

    @property
    def source_dir(self) -> Path:
        return self.source_override or paths.servers_dir() / self.name

    @property
    def image_tag(self) -> str:
        return f"labctl/{self.name}:latest"

    def framework_version(self) -> str:
        """The framework version pinned by the server's own lockfile (what really runs)."""
        return _framework_version(self.name, self.source_dir)


SERVERS: tuple[Server, ...] = (
    Server(
        name="go", language="Go", framework="net/http", aliases=("golang", "nethttp", "net/http"),
        greeting="Hello from Go net/http\n", source_file="main.go",
        base_image_arg="GO_IMAGE", default_base_image="golang:1.26",
        concurrency_model="one goroutine per connection, on all cores the runtime may use",
        blocking_unit="connection",
        toolchain=("go",),
    ),
    Server(
        name="python", language="Python", framework="FastAPI", aliases=("py", "fastapi", "uvicorn"),
        greeting="Hello from Python FastAPI\n", source_file="main.py",
        base_image_arg="PYTHON_IMAGE", default_base_image="python:3.12-slim",
        concurrency_model="one uvicorn worker process, one asyncio event loop",
        toolchain=("python3",),
    ),
    Server(
        name="rust", language="Rust", framework="Axum", aliases=("rs", "axum", "tokio"),
        greeting="Hello from Rust Axum\n", source_file="src/main.rs",
        base_image_arg="RUST_IMAGE", default_base_image="rust:1.95",
        concurrency_model="tokio multi-threaded runtime, one worker thread per core",
        blocking_unit="worker-thread",
        toolchain=("cargo",),
    ),
    Server(
        name="node", language="Node", framework="Express", aliases=("js", "express", "nodejs"),
        greeting="Hello from Node Express\n", source_file="server.js",
        base_image_arg="NODE_IMAGE", default_base_image="node:22-slim",
        concurrency_model="one process, one libuv event loop",
        toolchain=("node", "npm"),
    ),
)

NAMES: tuple[str, ...] = tuple(s.name for s in SERVERS)


def get(name_or_alias: str) -> Server:
    """Find a server by name or alias, case-insensitively; a clear error names the choices."""
    wanted = name_or_alias.strip().lower()
    for server in SERVERS:
        if wanted == server.name or wanted in server.aliases:
            return server
    choices = ", ".join(f"{s.name} ({'/'.join(s.aliases[:2])})" for s in SERVERS)
    raise UsageProblem(f"unknown server '{name_or_alias}'", f"Choose one of: {choices}")


def select(names: list[str] | None) -> list[Server]:
    """The servers named on a command line (all four when none), without duplicates, in order."""
    if not names:
        return list(SERVERS)
    chosen: list[Server] = []
    for name in names:
        server = get(name)
        if server not in chosen:
            chosen.append(server)
    return chosen


def required_toolchains() -> dict[str, tuple[int, int]]:
    """The oldest toolchain versions the servers declare in their own files (go.mod's go line,
    Cargo.toml's rust-version, package.json's engines), so doctor never states a stale number."""
    found: dict[str, tuple[int, int]] = {"python3": (3, 10)}
    root = paths.servers_dir()
    try:
        match = re.search(r"^go\s+(\d+)\.(\d+)", (root / "go" / "go.mod").read_text(), re.MULTILINE)
        if match:
            found["go"] = (int(match.group(1)), int(match.group(2)))
        rust = tomllib.loads((root / "rust" / "Cargo.toml").read_text())["package"]
        major, minor = str(rust.get("rust-version", "1.0")).split(".")[:2]
        found["cargo"] = (int(major), int(minor))
        engines = json.loads((root / "node" / "package.json").read_text()).get("engines", {})
        match = re.search(r"(\d+)(?:\.(\d+))?", engines.get("node", ""))
        if match:
            found["node"] = (int(match.group(1)), int(match.group(2) or 0))
    except (OSError, KeyError, ValueError):
        pass
    return found


def _framework_version(name: str, source: Path) -> str:
    try:
        if name == "go":
            match = re.search(r"^go\s+(\S+)", (source / "go.mod").read_text(), re.MULTILINE)
            return f"stdlib, go {match.group(1)}" if match else "stdlib"
        if name == "rust":
            lock = tomllib.loads((source / "Cargo.lock").read_text())
            return _first_version(lock.get("package", []), "axum")
        if name == "node":
            lock = json.loads((source / "package-lock.json").read_text())
            return lock["packages"]["node_modules/express"]["version"]
        if name == "python":
            text = (source / "requirements.txt").read_text()
            match = re.search(r"^fastapi==(\S+)", text, re.MULTILINE | re.IGNORECASE)
            return match.group(1) if match else "?"
    except (OSError, KeyError, ValueError):
        pass
    return "?"


def _first_version(packages: list[dict], crate: str) -> str:
    for package in packages:
        if package.get("name") == crate:
            return package.get("version", "?")
    return "?"
