"""The versions the servers pin, read from their own files: what a lesson's `versions` must name.

Each stack pins its runtime in its Dockerfile's base image (``node:22-slim``) or go.mod, and its
libraries in its lock file. Lessons state the versions their facts hold for; ``labctl lessons
check`` compares them with these pins, and results compare the runtime that really ran with them.
Reading the files (not a table in the code) keeps a bumped pin and a stale lesson from agreeing
by accident.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from labctl import paths

# Components a lesson may name that no server pins (the lab's tools and the platform).
UNPINNED = ("nginx", "linux", "docker", "curl", "kubernetes")


@lru_cache(maxsize=4)
def pinned_versions(servers_dir: Path | None = None) -> dict[str, str]:
    """component → pinned version, e.g. {"go": "1.26.0", "node": "22", "uvicorn": "0.54.0"}.
    A file that is missing or unreadable simply pins nothing."""
    root = servers_dir or paths.servers_dir()
    pins: dict[str, str] = {}
    gomod = _read(root / "go" / "go.mod")
    if found := re.search(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", gomod, re.MULTILINE):
        pins["go"] = found.group(1)
    for name, image in (("python", "PYTHON_IMAGE"), ("rust", "RUST_IMAGE"), ("node", "NODE_IMAGE")):
        dockerfile = _read(root / name / "Dockerfile")
        if found := re.search(rf"^ARG\s+{image}=[\w./-]+:(\d+(?:\.\d+)*)", dockerfile, re.MULTILINE):
            pins[name] = found.group(1)
    for line in _read(root / "python" / "requirements.txt").splitlines():
        if found := re.match(r"^([A-Za-z0-9_.-]+)==([\w.]+)", line.strip()):
            pins[found.group(1).lower()] = found.group(2)
    lock = _read(root / "rust" / "Cargo.lock")
    for found in re.finditer(r'^name = "([\w-]+)"\nversion = "([\w.-]+)"', lock, re.MULTILINE):
        if found.group(1) in ("axum", "hyper", "tokio"):
            pins[found.group(1)] = found.group(2)
    try:
        packages = json.loads(_read(root / "node" / "package-lock.json") or "{}").get("packages", {})
    except json.JSONDecodeError:
        packages = {}
    if version := packages.get("node_modules/express", {}).get("version"):
        pins["express"] = version
    return pins


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def agrees(stated: str, pinned: str) -> bool:
    """Whether two versions name the same release line: the shorter is a prefix of the longer,
    component by component ("0.54" and "0.54.0" agree; "22" and "22.12" agree; "0.54" and
    "0.55" do not)."""
    ours, theirs = _parts(stated), _parts(pinned)
    size = min(len(ours), len(theirs))
    return size > 0 and ours[:size] == theirs[:size]


def major_minor(version: str) -> str:
    """"1.26" from "go1.26.8", "v22.12.0" → "22.12"; what a lab compares with a lesson's pin."""
    return ".".join(_parts(version)[:2])


def _parts(version: str) -> list[str]:
    found = re.search(r"\d+(?:\.\d+)*", version)
    return found.group(0).split(".") if found else []
