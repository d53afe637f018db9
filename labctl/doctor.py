"""`labctl doctor`: what this machine has, what is missing, and the command that fixes each gap.

Collects facts only (a JSON-ready report); the command renders it.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labctl import config, paths, servers
from labctl.config import CLIENT_CONTEXT_VARIABLE
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.runtime.local import TOOLCHAINS, toolchain_version, version_tuple

if TYPE_CHECKING:
    from labctl.results.documents import DoctorDocument, DoctorItem

OK, WARN, MISSING = "ok", "warn", "missing"
FREE_DISK_WARN_BYTES = 3 * 1024**3   # a Rust release build and four images need about this

# npm has no declared minimum in the servers' files; 8 is the first with lockfile v3.
NPM_MINIMUM = (8, 0)


def _item(name: str, status: str, detail: str, fix: str | None = None) -> DoctorItem:
    return {"name": name, "status": status, "detail": detail, "fix": fix}


# -- the command that installs a missing piece, on the machine doctor runs on ------------------

# The version apt installs on the releases the README's set-up names, per toolchain doctor checks:
# apt is the fix only where its package meets the servers' pins; elsewhere the toolchain's own
# installer is (distributions lag Go and Rust by years). Debian 12: `apt-cache policy` on bookworm
# (golang-go 2:1.19~1, rustc 1.63, cargo 0.66 = Rust 1.65, nodejs 18.19.0, npm 9.2.0); Ubuntu
# 24.04: packages.ubuntu.com, noble (golang-go 1.22, rustc and cargo 1.75, nodejs 18.19.1, npm 9.2).
APT_VERSIONS: dict[str, dict[str, tuple[int, int]]] = {
    "debian 12": {"go": (1, 19), "cargo": (1, 65), "node": (18, 19), "npm": (9, 2)},
    "ubuntu 24.04": {"go": (1, 22), "cargo": (1, 75), "node": (18, 19), "npm": (9, 2)},
}
APT_PACKAGES = {"go": "golang-go", "cargo": "cargo", "node": "nodejs npm", "npm": "nodejs npm"}
RUSTUP = "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
INSTALLERS = {   # each toolchain's own, current on every system
    "go": "install Go from https://go.dev/dl/ (the tarball into /usr/local/go, then "
          "/usr/local/go/bin on your PATH)",
    "cargo": f"install Rust with rustup: {RUSTUP}",
    "node": "install Node.js from https://nodejs.org/en/download",
    "npm": "install Node.js from https://nodejs.org/en/download (npm comes with it)",
}
BREW_FORMULAS = {"go": "go", "cargo": "rust", "node": "node", "npm": "node", "wrk": "wrk", "oha": "oha"}


@dataclass(frozen=True)
class Platform:
    family: str     # "apt" (Debian, Ubuntu and their derivatives), "brew" (macOS) or "other"
    release: str    # "debian 12", "ubuntu 24.04", "macos", or what os-release says
    name: str       # for a person: "Debian GNU/Linux 12", "Ubuntu 24.04"


def this_platform(os_release: dict[str, str] | None = None, system: str | None = None) -> Platform:
    """Which package manager a fix should name here (os-release on Linux; macOS means Homebrew)."""
    system = system or platform.system()
    if system == "Darwin":
        return Platform("brew", "macos", "macOS")
    if os_release is None:
        try:
            os_release = platform.freedesktop_os_release()
        except OSError:
            os_release = {}
    ids = {os_release.get("ID", "").lower(), *os_release.get("ID_LIKE", "").lower().split()}
    release = f"{os_release.get('ID', '').lower()} {os_release.get('VERSION_ID', '')}".strip()
    name = " ".join(filter(None, (os_release.get("NAME"), os_release.get("VERSION_ID")))) or system
    return Platform("apt" if ids & {"debian", "ubuntu"} else "other", release, name)


def install_fix(tool: str, minimum: tuple[int, int], where: Platform) -> str:
    """The command that installs ``tool`` (go, cargo, node, npm) at ``minimum`` or newer here."""
    wanted = ".".join(map(str, minimum))
    if where.family == "brew":
        return f"brew install {BREW_FORMULAS[tool]}" + _homebrew_note()
    if where.family == "apt":
        packaged = APT_VERSIONS.get(where.release, {}).get(tool)
        if packaged is not None and packaged >= minimum:
            return f"sudo apt-get install {APT_PACKAGES[tool]}"
        if packaged is not None:
            have = ".".join(map(str, packaged))
            return (f"{where.name}'s {APT_PACKAGES[tool].split()[0]} is {have}, older than the "
                    f"{wanted} the servers need: {INSTALLERS[tool]}")
        return (f"{INSTALLERS[tool]} (or sudo apt-get install {APT_PACKAGES[tool]}, if "
                f"`apt-cache policy {APT_PACKAGES[tool].split()[0]}` shows ≥ {wanted})")
    return INSTALLERS[tool]


def engine_fix(where: Platform) -> str:
    """How to get a Docker engine here, when none is installed."""
    if where.family == "apt":
        return ("sudo apt-get install docker.io, then sudo usermod -aG docker $USER and log in "
                "again; or use --runtime local")
    if where.family == "brew":
        return ("brew install --cask docker (Docker Desktop), or brew install colima docker && "
                "colima start" + _homebrew_note() + "; or use --runtime local")
    return "install Docker Engine (https://docs.docker.com/engine/install/); or use --runtime local"


def load_generator_fix(tool: str, where: Platform) -> str:
    if where.family == "brew":
        return f"brew install {BREW_FORMULAS[tool]}" + _homebrew_note()
    if tool == "wrk":
        return "sudo apt-get install wrk" if where.family == "apt" else "install wrk with your package manager"
    return "cargo install oha"


def check_system() -> DoctorItem:
    where = this_platform()
    tools = {"apt": "apt where the distribution's package is new enough, the toolchains' own "
                    "installers where it is not",
             "brew": "Homebrew", "other": "each toolchain's own installer"}[where.family]
    return _item("operating system", OK, f"{where.name}: the fixes below use {tools}")


def _homebrew_note() -> str:
    return "" if shutil.which("brew") else " (Homebrew first: https://brew.sh)"


def check_docker() -> tuple[list[DoctorItem], bool]:
    items = []
    try:
        import docker

        sdk = docker.__version__
        items.append(_item("Docker SDK for Python", OK, sdk))
    except ImportError:
        items.append(_item("Docker SDK for Python", MISSING, "not installed",
                           f"{sys.executable} -m pip install 'docker[ssh]>=7.2' (a dependency of "
                           "labctl: this install of labctl is incomplete)"))
        return items, False
    client_cli = shutil.which("docker")
    items.append(_item("docker client", OK if client_cli else WARN,
                       client_cli or "not on PATH (labctl does not need it; handy for you)"))
    from labctl.runtime.docker import DockerRuntime

    runtime = DockerRuntime()
    try:
        runtime.check()
    except EnvironmentProblem as problem:
        installed = any(shutil.which(name) for name in ("docker", "dockerd", "podman"))
        items.append(_item("Docker engine", MISSING, problem.message,
                           problem.hint if installed else engine_fix(this_platform())))
        return items, False
    facts = runtime.describe()
    location = runtime.location
    items.append(_item("Docker engine", OK,
                       f"{facts['engine_version']} (API {facts['api_version']})"))
    items.append(_item("engine location", OK, location.describe()))
    engine_cpus = runtime.engine_cpus()
    items.append(_item("engine CPUs", OK if engine_cpus else WARN,
                       f"{engine_cpus} ({location.engine_phrase})"
                       if engine_cpus else "the engine did not say"))
    client_context = os.environ.get(CLIENT_CONTEXT_VARIABLE)
    if client_context:
        return _base_image_items(items + _client_engine_items(runtime, client_context), runtime), True
    if location.measure_on_engine:
        items.append(_item(
            "where labctl measures", OK,
            f"in a container next to the servers on {location.engine_phrase} (the libcurl "
            "probe and wrk run there, over its bridge network; nothing is published)"))
        return _base_image_items(items, runtime), True
    items.append(_item("where labctl measures", OK,
                       "here: labctl's in-process libcurl probe on this machine"))
    bridge = Path("/sys/class/net/docker0").exists()
    items.append(_item(
        "bridge network from this host", OK if bridge else WARN,
        "docker0 is up: labctl measures over container IPs, without docker-proxy" if bridge else
        "no docker0 bridge visible (Docker Desktop?): labctl measures over published ports, "
        "which adds docker-proxy's ~80 µs to every new connection"))
    return _base_image_items(items, runtime), True


def _client_engine_items(runtime, context: str) -> list[DoctorItem]:
    """LABCTL_CLIENT_CONTEXT set: where the probe and load generator will run, and the address
    the servers will publish on (the same decision `run` and `compare` make, made here too)."""
    from labctl.runtime import client_engine

    try:
        found = client_engine.attach(runtime, context)
    except LabctlError as problem:
        return [_item("client engine", MISSING, f"{CLIENT_CONTEXT_VARIABLE}={context}: {problem.message}",
                      problem.hint or f"Unset {CLIENT_CONTEXT_VARIABLE}, or fix the context")]
    facts = found.client_facts
    return [
        _item("client engine", OK, f"{found.phrase}: Docker {facts.get('version', '?')}, "
                                   f"{facts.get('cpus', '?')} CPU(s)"
                                   + ("; the same engine as the servers'" if found.same_engine else "")),
        _item("where labctl measures", OK,
              f"from {found.phrase}, to the servers' ports published on "
              f"{found.server_address.address} ({found.server_address.source}): every figure "
              "includes the network between the two engines"),
    ]


def _base_image_items(items: list[DoctorItem], runtime) -> list[DoctorItem]:
    wanted = [(f"base image for {s.name}", s.base_image_arg, s.default_base_image)
              for s in servers.SERVERS]
    wanted.append(("base image for the wrk container", config.DEBIAN_IMAGE_ARG,
                   config.DEFAULT_DEBIAN_IMAGE))
    for label, arg, default in wanted:
        image = config.base_image(arg, default)
        present = runtime.image_present(image)
        items.append(_item(
            label, OK if present else WARN,
            f"{image} is {'present' if present else 'not present; the first build pulls it'}",
            None if present else f"docker pull {image}  (or export LABCTL_{arg}=an image you have)"))
    return items


def check_toolchains() -> tuple[list[DoctorItem], list[str]]:
    items = []
    versions = {name: toolchain_version(name) for name in TOOLCHAINS}
    minimums = servers.required_toolchains()
    where = this_platform()
    for name, tool in TOOLCHAINS.items():
        version = versions[name]
        minimum = minimums.get(name, NPM_MINIMUM)
        wanted = ".".join(map(str, minimum))
        fix = install_fix(name, minimum, where) if name in INSTALLERS else tool.install_hint
        if version is None:
            items.append(_item(name, MISSING, f"not found (the local runtime needs ≥ {wanted})", fix))
            continue
        parsed = version_tuple(version)
        if parsed is not None and parsed < minimum:
            items.append(_item(name, WARN, f"{version}: older than the {wanted} the servers need", fix))
        else:
            items.append(_item(name, OK, f"{version} (the servers need ≥ {wanted})"))
    runnable = []
    for server in servers.SERVERS:
        if all(versions.get(t) for t in server.toolchain):
            runnable.append(server.name)
    return items, runnable


def check_load_generators() -> list[DoctorItem]:
    items = []
    where = this_platform()
    for tool in ("wrk", "oha"):
        found = shutil.which(tool)
        items.append(_item(f"{tool} on this host", OK if found else WARN,
                           found or "not found (labctl load runs wrk in a container on Docker)",
                           None if found else load_generator_fix(tool, where)))
    return items


def check_proxy() -> DoctorItem:
    """The host's nginx, which the proxy lab runs on the local runtime (Docker builds its own)."""
    from labctl.labs import nginx_config

    binary = nginx_config.host_nginx()
    version = nginx_config.nginx_version(binary) if binary else None
    if version:
        return _item("nginx on this host", OK, f"{version} at {binary} (labctl lab proxy "
                                                "--runtime local)")
    return _item("nginx on this host", WARN,
                 "not found (labctl lab proxy builds an nginx image on Docker)",
                 "sudo apt-get install nginx  (Debian/Ubuntu; the lab only needs the binary)")


def check_disk() -> DoctorItem:
    where = paths.cache_dir()
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    status = OK if free >= FREE_DISK_WARN_BYTES else WARN
    return _item("free disk", status, f"{free / 1024**3:.1f} GB free at {probe}",
                 None if status == OK else "free some space, or labctl's cache: rm -rf "
                                           f"{where}")


def check_isolation(engine_ok: bool) -> list[DoctorItem]:
    """What each runtime enforces on every server it starts (and, for Docker, what the engine adds
    on top: its seccomp and AppArmor profiles, rootless mode, user namespaces)."""
    from labctl.runtime import docker as docker_rt
    from labctl.runtime import local as local_rt

    items = []
    if engine_ok:
        detail = "; ".join(docker_rt.isolation_summary())
        try:
            options = docker_rt.connect().info().get("SecurityOptions") or []
            names = [option.split(",")[0].removeprefix("name=") for option in options]
            if names:
                detail += "; the engine adds: " + ", ".join(names)
        except Exception:  # noqa: BLE001 - the engine's extras are a bonus, not a check
            pass
        items.append(_item("docker runtime", OK, detail))
    else:
        items.append(_item("docker runtime", WARN, "no engine: " + "; ".join(docker_rt.isolation_summary())
                           + " (when it runs)"))
    summary = local_rt.isolation_summary()
    items.append(_item("local runtime", WARN, "; ".join(summary)))
    return items


def report() -> DoctorDocument:
    docker_items, engine_ok = check_docker()
    toolchain_items, local_servers = check_toolchains()
    load_items = check_load_generators()
    disk = check_disk()
    can_run = {
        "docker": list(servers.NAMES) if engine_ok else [],
        "local": local_servers,
    }
    default = config.default_runtime()
    missing_images = [i for i in docker_items
                      if i["name"].startswith("base image") and i["status"] != OK]
    if default != "auto":
        chosen = default
    elif not engine_ok:
        chosen = "local"
    elif missing_images:
        chosen = "docker if the engine can pull the missing base images, otherwise local"
    else:
        chosen = "docker"
    return {
        "schema": "labctl.doctor/1",
        "sections": {
            "System": [check_system()],
            "Docker": docker_items,
            "Local toolchains": toolchain_items,
            "Load generators": load_items,
            "Reverse proxy": [check_proxy()],
            "Isolation of the servers": check_isolation(engine_ok),
            "Disk": [disk],
        },
        "can_run": can_run,
        "default_runtime": default,
        "auto_would_use": chosen,
        "anything_runs": bool(can_run["docker"] or can_run["local"]),
    }
