"""Running the servers as native processes, from the same servers/<name>/ sources.

For machines without a Docker engine. Build products (binaries, target/, node_modules/,
virtual environments) live in labctl's cache directory, keyed by a digest of the source, and are
reused while the source is unchanged; the source tree is never written to.

Every server is started in its own process group and recorded in a state file; stopping it
signals the whole group. A later labctl reaps groups whose labctl process has died, as the
Docker runtime reaps containers.
"""

from __future__ import annotations

import collections
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labctl import paths
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.fileio import atomic_write_json
from labctl.runtime import versions
from labctl.runtime.base import (
    SESSION_ID,
    BuildInfo,
    Instance,
    Limits,
    ProgressCallback,
    Runtime,
)
from labctl.runtime.cpus import parse_cpuset, pin_child
from labctl.runtime.process import alive, owner_alive, start_time
from labctl.runtime.sourcehash import IGNORED_PARTS, hash_tree
from labctl.servers import Server, required_toolchains

STOP_GRACE_S = 3.0
BUILD_TAIL_LINES = 30


@dataclass(frozen=True)
class Toolchain:
    command: str             # the program that must be on PATH
    version_args: tuple[str, ...]
    install_hint: str


TOOLCHAINS = {
    "go": Toolchain("go", ("version",), "Install Go (https://go.dev/dl/)"),
    "cargo": Toolchain("cargo", ("--version",), "Install Rust with rustup (https://rustup.rs)"),
    "node": Toolchain("node", ("--version",), "Install Node.js (https://nodejs.org)"),
    "npm": Toolchain("npm", ("--version",), "Install npm (it comes with Node.js)"),
    "python3": Toolchain(sys.executable, ("--version",), "Python comes with labctl itself"),
}


@functools.cache
def _version_for_keys(name: str) -> str | None:
    """A toolchain's version as part of a cache key: asked once per process (npm takes a few
    hundred milliseconds to say it), since a toolchain does not change under a running labctl."""
    return toolchain_version(name)


def toolchain_version(name: str) -> str | None:
    tool = TOOLCHAINS[name]
    executable = shutil.which(tool.command) or (tool.command if os.path.isabs(tool.command) else None)
    if not executable:
        return None
    try:
        out = subprocess.run([executable, *tool.version_args], capture_output=True, text=True,
                             timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else None


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """(major, minor) of the first "X.Y" in a version line: "go version go1.26.8" → (1, 26)."""
    match = re.search(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None



# What a native server gets from labctl's environment: enough to find its interpreter and speak the
# locale, nothing else. Tokens, cloud credentials and proxies in the learner's shell are not a
# server's business, and a stray NODE_OPTIONS or PYTHONPATH would change what is measured.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
# What each server's Dockerfile sets, so a native run behaves as the container does.
SERVER_ENVIRONMENT = {
    "node": {"NODE_ENV": "production"},
    "python": {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "WEB_CONCURRENCY": "1"},
}


def server_environment(server_name: str, port: int) -> dict[str, str]:
    """The scrubbed environment a native server runs with: bound to loopback on ``port``."""
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    env.update(SERVER_ENVIRONMENT.get(server_name, {}))
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    return env


def isolation_summary() -> list[str]:
    """What the local runtime enforces on a native server, and what it cannot (for doctor)."""
    return ["bound to 127.0.0.1 only",
            "scrubbed environment (" + ", ".join(PASSED_THROUGH[:3]) + ", locale; nothing else)",
            "its own process group, stopped as a whole (children included)",
            "pinned to the server CPUs where the OS allows",
            "not enforced: memory cap, read-only files, capability drop, other user — "
            "a native process runs with your rights; use Docker for those"]


# Part of every build's key: changed when a build made by an older labctl must not be reused
# (2: sources copied with fresh mtimes; a Rust copy built before could hold another copy's binary).
BUILD_LAYOUT = "2"

# Environment variables the toolchains read that change what a build produces (cargo's profile
# overrides, e.g. CARGO_PROFILE_RELEASE_LTO, and compiler flags, CFLAGS among them for SQLite's C
# source in the Rust server): part of the build's key too, so a binary built under other settings
# is never taken for the one server.toml describes.
BUILD_ENV_PREFIXES = ("CARGO_PROFILE_", "RUSTFLAGS", "GOFLAGS", "CGO_", "CFLAGS")


def build_environment() -> list[str]:
    """The variables of BUILD_ENV_PREFIXES set now, as NAME=value, sorted."""
    return sorted(f"{name}={value}" for name, value in os.environ.items()
                  if name.startswith(BUILD_ENV_PREFIXES))


def _key_parts() -> list[str]:
    """What every local build's key (a build folder's, a {deps} folder's) includes besides its
    files: this Python, BUILD_LAYOUT and the build environment."""
    return [sys.version, BUILD_LAYOUT, *build_environment()]


class LocalRuntime(Runtime):
    name = "local"

    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen] = {}
        # Servers started by this runtime → (runtime, the executable their command runs).
        self._started: dict[str, tuple[str, str]] = {}
        self._versions: dict[tuple[str, str], dict[str, Any]] = {}

    def check(self) -> None:
        return None   # each server checks its own toolchain in prepare()

    def describe(self) -> dict[str, Any]:
        return {
            "runtime": "local",
            "toolchains": {name: toolchain_version(name) for name in ("go", "cargo", "node", "python3")},
            **({"servers_ran": self.servers_ran()} if self._started else {}),
        }

    def servers_ran(self) -> dict[str, dict[str, Any]]:
        """For each server started so far: the version its own executable reports (a Go or Rust
        binary's embedded version; the interpreter's --version for Node and Python)."""

        ran = {}
        for name, key in self._started.items():
            if key not in self._versions:
                runtime, executable = key
                self._versions[key] = _ask_executable(runtime, executable)
            ran[name] = self._versions[key]
        return ran

    # -- building -------------------------------------------------------------------------

    def _build_root(self) -> Path:
        return paths.cache_dir() / "local"

    def deps_dir(self, server: Server) -> Path:
        """The folder {deps} names: one per set of dependency files (their names and contents),
        this Python, the toolchains' versions and the build environment."""
        digest = hashlib.sha256()
        for name in server.local_deps:
            digest.update(name.encode() + b"\0" + (server.source_dir / name).read_bytes() + b"\0")
        digest.update(repr([*_key_parts(), *(f"{tool}={_version_for_keys(tool)}"
                                             for tool in server.toolchain)]).encode())
        return self._build_root() / f"{server.name}-deps" / digest.hexdigest()[:16]

    def build_dir(self, server: Server) -> Path:
        return self._build_root() / server.name / hash_tree(
            server.source_dir, extra=_key_parts())

    def check_server(self, server: Server) -> None:
        """Its toolchain: installed, and at least the version the pinned dependencies need."""
        minimums = required_toolchains()
        for tool in server.toolchain:
            version = toolchain_version(tool)
            if version is None:
                raise EnvironmentProblem(
                    f"the {server.title} server needs `{TOOLCHAINS[tool].command}`, which is not "
                    "installed or does not run",
                    f"{TOOLCHAINS[tool].install_hint}, or use --runtime docker")
            found = version_tuple(version)
            wanted = minimums.get(tool)
            if found and wanted and found < wanted:
                raise EnvironmentProblem(
                    f"the {server.title} server needs {tool} ≥ {wanted[0]}.{wanted[1]}, and this "
                    f"machine has {version}",
                    f"{TOOLCHAINS[tool].install_hint}, or use --runtime docker")

    def prepare(self, server: Server, progress: ProgressCallback | None = None,
                *, rebuild: bool = False) -> BuildInfo:
        self.check_server(server)
        out = self.build_dir(server)
        marker = out / ".complete"
        started = time.monotonic()
        deps_built = self._prepare_deps(server, progress, reinstall=rebuild)
        details: dict[str, Any] = {"build_dir": str(out)}
        if server.local_deps:
            details.update(deps_dir=str(self.deps_dir(server)), deps_built=deps_built)
        if marker.exists() and not rebuild:
            return BuildInfo(artifact=str(out), built=deps_built,
                             seconds=time.monotonic() - started if deps_built else 0.0,
                             size_bytes=self._build_size(server, out), details=details)
        if out.exists():
            shutil.rmtree(out)
        work = out / "src"
        # shutil.copy, not copy2: the copy's files get fresh mtimes. Cargo hashes a path package
        # by its path *relative to its workspace*, so two copies of the Rust server (an exercise's
        # starter and solution) share one fingerprint in {shared}, and a copy keeping its old
        # mtimes would look older than the last build and get the other copy's binary.
        shutil.copytree(server.source_dir, work, copy_function=shutil.copy,
                        ignore=lambda _dir, names: [n for n in names if n in IGNORED_PARTS])
        for step in self._build_steps(server, out):
            _run_step(step, cwd=work, progress=progress, what=server.title)
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        return BuildInfo(artifact=str(out), built=True, seconds=time.monotonic() - started,
                         size_bytes=self._build_size(server, out), details=details)

    def _build_size(self, server: Server, out: Path) -> int:
        """What the server needs on disk: its build folder, and its {deps} (shared, but the
        server cannot run without it)."""
        return _tree_size(out) + (_tree_size(self.deps_dir(server)) if server.local_deps else 0)

    def _prepare_deps(self, server: Server, progress: ProgressCallback | None,
                      reinstall: bool = False) -> bool:
        """The server's {deps} folder, installed when it is not yet (or again, with
        ``reinstall``: a --rebuild): the dependency files are copied in and deps_build runs
        there. Under a lock, so two labctl processes building the same copy at once install it
        once. Whether it was installed now."""
        if not server.local_deps:
            return False
        deps = self.deps_dir(server)
        marker = deps / ".complete"
        if marker.exists() and not reinstall:
            return False
        deps.parent.mkdir(parents=True, exist_ok=True)
        with open(deps.with_name(deps.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if marker.exists() and not reinstall:   # another labctl installed it meanwhile
                return False
            if deps.exists():
                shutil.rmtree(deps)       # a half-made one (an interrupted install)
            deps.mkdir()
            for name in server.local_deps:
                shutil.copy(server.source_dir / name, deps / name)
            for step in server.local_deps_build:
                _run_step(self._fill(step, server, deps), cwd=deps, progress=progress,
                          what=server.title)
            marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        return True

    def _build_steps(self, server: Server, out: Path) -> list[list[str]]:
        """The server.toml's [local] build steps, placeholders filled in."""
        return [self._fill(step, server, out) for step in server.local_build]

    def _command(self, server: Server, out: Path) -> list[str]:
        return self._fill(server.local_command, server, out)

    def _fill(self, argv: tuple[str, ...], server: Server, out: Path) -> list[str]:
        # {shared}: one folder for every build of this server (a compiler's cache, e.g. Rust's
        # target dir), so dependencies are reused when only the server's own code changed.
        values = {"{out}": str(out), "{src}": str(out / "src"), "{python}": sys.executable,
                  "{shared}": str(self._build_root() / f"{server.name}-target")}
        if server.local_deps:
            values["{deps}"] = str(self.deps_dir(server))
        filled = []
        for arg in argv:
            for placeholder, value in values.items():
                arg = arg.replace(placeholder, value)
            filled.append(arg)
        return filled

    # -- processes ------------------------------------------------------------------------

    def _state_dir(self) -> Path:
        return paths.state_dir() / "local"

    def start(self, server: Server, limits: Limits, *, keep: bool = False,
              env: dict[str, str] | None = None, instance: str = "") -> Instance:
        out = self.build_dir(server)
        if not (out / ".complete").exists():
            self.prepare(server)
        else:
            self._prepare_deps(server, None)   # cleared from the cache since the build
        port = _free_port()
        cpus = parse_cpuset(limits.cpuset) or None
        log_path = self._state_dir() / f"{SESSION_ID}-{server.name}{instance}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # Scrubbed (see server_environment); a learner's server.toml may add its own variables.
        env = {**server_environment(server.name, port), **(env or {}), "PORT": str(port),
               "HOST": "127.0.0.1"}
        with open(log_path, "wb") as log:
            started_at = time.monotonic()
            process = subprocess.Popen(
                self._command(server, out), cwd=out / "src", env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,   # its own process group: stopping it stops its children
                preexec_fn=pin_child(limits.cpuset),
            )
        self._processes[str(process.pid)] = process
        runtime = versions.runtime_of(server.language)
        if runtime:
            executable = self._command(server, out)[0]
            self._started[server.name] = (runtime, shutil.which(executable, path=env.get("PATH")) or executable)
        atomic_write_json(self._state_file(server.name + instance), {
            "pid": process.pid, "labctl_pid": os.getpid(),
            "labctl_started": start_time(os.getpid()), "server": server.name,
            "url": f"http://127.0.0.1:{port}", "keep": keep, "log": str(log_path),
            "command": self._command(server, out),
        })
        # Native processes cannot be given a CPU quota or memory cap portably: the honest limit
        # is the set of CPUs they may run on.
        actual = Limits(cpus=float(len(cpus) if cpus else os.cpu_count() or 1), memory_mb=0,
                        cpuset=limits.cpuset)
        url = f"http://127.0.0.1:{port}"
        return Instance(server=server, ident=str(process.pid), url=url, public_url=url,
                        path=f"loopback 127.0.0.1:{port}", path_kind="loopback", limits=actual,
                        started_at=started_at,
                        extra={"log": str(log_path), "state_name": server.name + instance})

    def is_running(self, instance: Instance) -> bool:
        process = self._processes.get(instance.ident)
        if process is not None:
            return process.poll() is None
        return alive(int(instance.ident))

    def logs(self, instance: Instance, tail: int = 40) -> str:
        return _tail(Path(instance.extra.get("log", "")), tail)

    def stop(self, instance: Instance, grace_s: float | None = None) -> None:
        started = time.monotonic()
        _stop_group(int(instance.ident), self._processes.pop(instance.ident, None),
                    STOP_GRACE_S if grace_s is None else grace_s)
        instance.extra["stop_seconds"] = round(time.monotonic() - started, 3)
        self._state_file(instance.extra.get("state_name", instance.server.name)).unlink(
            missing_ok=True)
        # The log has served its purpose (start-up failures show it before the stop).
        Path(instance.extra.get("log", "")).unlink(missing_ok=True)

    def _state_file(self, name: str, session: str = SESSION_ID) -> Path:
        return self._state_dir() / f"{session}-{name}.json"

    def server_sockets(self, instance: Instance) -> tuple[int, int] | None:
        # A native server shares this machine's network namespace, on the port it was given.
        port = urlsplit(instance.url).port
        return (int(instance.ident), port) if port else None

    def idle_memory_bytes(self, instance: Instance) -> int | None:
        return _group_rss_bytes(int(instance.ident))

    def _states(self) -> list[tuple[Path, dict]]:
        found = []
        for path in sorted(self._state_dir().glob("*.json")):
            try:
                found.append((path, json.loads(path.read_text())))
            except (OSError, ValueError):
                path.unlink(missing_ok=True)
        return found

    def reap_orphans(self) -> list[str]:
        reaped = []
        for path, state in self._states():
            if state.get("keep") and alive(state["pid"]):
                continue
            if owner_alive(str(state.get("labctl_pid", "")), state.get("labctl_started")):
                continue
            if alive(state["pid"]) and _is_ours(state):
                _stop_group(state["pid"], None)
            _forget(path, state)
            reaped.append(f"{state['server']} (pid {state['pid']})")
        return reaped

    def down(self, session: str | None = None) -> list[str]:
        removed = []
        for path, state in self._states():
            if session is not None and not path.name.startswith(f"{session}-"):
                continue
            if alive(state["pid"]) and _is_ours(state):
                _stop_group(state["pid"], None)
                removed.append(f"{state['server']} (pid {state['pid']})")
            _forget(path, state)
        return removed

    def logs_of_kept(self, server: Server, tail: int) -> str:
        for _, state in self._states():
            if state["server"] == server.name and alive(state["pid"]):
                return _tail(Path(state["log"]), tail)
        raise LabctlError(f"no {server.title} server is running on the local runtime",
                          f"Start one with: labctl run {server.name} --runtime local --keep")


def _forget(state_path: Path, state: dict) -> None:
    """Delete a stopped server's state file and its log."""
    state_path.unlink(missing_ok=True)
    if state.get("log"):
        Path(state["log"]).unlink(missing_ok=True)


def _run_step(command: list[str], *, cwd: Path, progress: ProgressCallback | None,
              what: str) -> None:
    tail: collections.deque[str] = collections.deque(maxlen=BUILD_TAIL_LINES)
    if progress:
        progress("$ " + " ".join(command))
    try:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                   errors="replace")
    except OSError as exc:
        raise EnvironmentProblem(f"could not run {command[0]}: {exc.strerror}",
                                 "Check the toolchain with: labctl doctor") from None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                if progress:
                    progress(line)
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    if code != 0:
        raise LabctlError(
            f"building the {what} server failed: `{' '.join(command)}` exited with {code}",
            "The build's last lines are below",
            details=f"last {len(tail)} lines of output:\n" + "\n".join(tail))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_ours(state: dict) -> bool:
    """Guard against a recycled pid: the process must still run the command we started."""
    try:
        cmdline = Path(f"/proc/{state['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True   # no /proc (macOS): trust the state file
    return bool(cmdline) and cmdline[0].decode(errors="replace") == state["command"][0]


def _stop_group(pid: int, process: subprocess.Popen | None,
                grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, wait for a graceful exit, SIGKILL what is left."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                break
        elif not alive(pid):
            break
        time.sleep(0.01)
    try:
        os.killpg(pid, signal.SIGKILL)   # children that outlived their parent, or a hung server
    except ProcessLookupError:
        pass
    if process is not None:
        process.wait()


def _group_rss_bytes(pgid: int) -> int | None:
    total = 0
    found = False
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:   # field 5 of stat: the process group
                continue
            rss_pages = int(fields[21])  # field 24: resident set size in pages
        except (OSError, ValueError, IndexError):
            continue
        total += rss_pages * os.sysconf("SC_PAGE_SIZE")
        found = True
    return total if found else None


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _ask_executable(runtime: str, executable: str) -> dict[str, Any]:
    """The version a local server's executable reports: a Go or Rust binary's embedded one, or
    the interpreter's own --version."""
    if runtime in ("go", "rust"):
        try:
            binary = Path(executable).read_bytes()
        except OSError as exc:
            return versions.record(runtime, None, f"could not read {executable}: {exc.strerror or exc}")
        found = versions.go_version_of(binary) if runtime == "go" else versions.rust_version_of(binary)
        return versions.record(runtime, found, f"read from {executable}")
    try:
        completed = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=10,
                                   stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return versions.record(runtime, None, f"could not run {executable} --version: {exc}")
    found = versions.interpreter_version(completed.stdout + completed.stderr)
    return versions.record(runtime, found, f"{Path(executable).name} --version, as the server runs it")
