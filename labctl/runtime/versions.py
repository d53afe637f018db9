"""Which runtime version a server really ran, as its image or process reports it.

The Dockerfiles pin `node:22-slim` and `python:3.12-slim`, but a machine without a registry builds
on local stand-ins, and the local runtime runs whatever is installed: what is pinned is not always
what runs. So every result records the version the server itself reports, never the pin:

- Go: the version the binary was built with, from its build info (what `go version BINARY` reads);
- Rust: the `rustc version …` string rustc leaves in the binary's .comment section;
- Node and Python: `node --version` / `python --version`, run by the interpreter the server uses.

In a container the binary is read from the running container (scratch images have no shell) and
the interpreters are asked with `exec`; on the local runtime, from the build directory and the
commands the server is started with. Each answer is compared with the servers' pin
(labctl.pins), and a result says so when they differ.
"""

from __future__ import annotations

import re
from typing import Any

from labctl.runtime import pins

# server.language (lower case) → the runtime component it runs on, as the pins name it.
RUNTIME_OF_LANGUAGE = {"go": "go", "rust": "rust", "node": "node", "python": "python"}
LABELS = {"go": "Go", "rust": "Rust", "node": "Node", "python": "Python"}
BINARY = "/server"                    # where the Go and Rust images keep the server binary
_GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"
_RUSTC = re.compile(rb"rustc version (\d+\.\d+\.\d+)")


def runtime_of(language: str) -> str | None:
    return RUNTIME_OF_LANGUAGE.get(language.strip().lower())


def go_version_of(binary: bytes) -> str | None:
    """"go1.26.8" from a Go binary's build info (Go ≥ 1.18 writes the strings inline: a 32-byte
    header, then a varint length and the version)."""
    start = binary.find(_GO_BUILDINFO_MAGIC)
    if start < 0 or len(binary) < start + 33 or not binary[start + 15] & 0x2:
        return None
    position, length, shift = start + 32, 0, 0
    while position < len(binary):
        byte = binary[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    version = binary[position:position + length].decode("ascii", "replace")
    return version if version.startswith("go") else None


def rust_version_of(binary: bytes) -> str | None:
    found = _RUSTC.search(binary)
    return found.group(1).decode() if found else None


def interpreter_version(text: str) -> str | None:
    """"20.20.2" from "v20.20.2"; "3.11.2" from "Python 3.11.2"."""
    found = re.search(r"\d+\.\d+(?:\.\d+)?", text)
    return found.group(0) if found else None


def record(runtime: str, version: str | None, how: str) -> dict[str, Any]:
    """What a result stores for one server: the runtime, the version it reported, how it was
    asked, the servers' pin and whether the two agree."""
    pinned = pins.pinned_versions().get(runtime)
    clean = version.removeprefix("go") if version else None
    # Patch releases never count: Go 1.26.8 runs what go.mod's `go 1.26.0` pins.
    matches = None if not (clean and pinned) else pins.agrees(pins.major_minor(clean), pins.major_minor(pinned))
    return {"runtime": runtime, "version": clean, "how": how, "pinned": pinned, "matches_pin": matches}


def describe(entry: dict[str, Any]) -> str:
    """"Node 20.20.2 (the servers pin 22)" or "Go 1.26.8"; "Node: version unknown" if not asked."""
    label = LABELS.get(entry.get("runtime", ""), entry.get("runtime", "?"))
    if not entry.get("version"):
        return f"{label}: version unknown ({entry.get('how', 'not reported')})"
    text = f"{label} {entry['version']}"
    if entry.get("matches_pin") is False:
        text += f" (the servers pin {entry['pinned']}: a stand-in or a local toolchain)"
    return text


def header_line(ran: dict[str, dict[str, Any]]) -> str | None:
    """One line for a result's header: what each server ran on."""
    if not ran:
        return None
    return "ran on " + ", ".join(f"{name}: {describe(entry)}" for name, entry in sorted(ran.items()))


def lesson_differences(ran: dict[str, dict[str, Any]], lesson_versions: dict[str, str]) -> list[str]:
    """A line for each server whose runtime's major.minor differs from the version the lesson's
    facts hold for: the predictions about that server may not hold here."""
    lines = []
    for name, entry in sorted(ran.items()):
        runtime, version = entry.get("runtime"), entry.get("version")
        stated = lesson_versions.get(runtime or "")
        if not (version and stated) or pins.agrees(pins.major_minor(version), stated):
            continue
        label = LABELS.get(runtime or "", runtime)
        lines.append(f"{name} ran on {label} {version}, but the lesson's facts hold for {label} "
                     f"{stated}: its predictions for {name} may not hold here")
    return lines
