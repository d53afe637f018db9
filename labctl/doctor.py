"""`labctl doctor`: what this machine has, what is missing, and the command that fixes each gap.

Collects facts only (a JSON-ready report); the command renders it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labctl import config, paths, servers
from labctl.config import CLIENT_CONTEXT_VARIABLE
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.runtime.local import TOOLCHAINS, toolchain_version, version_tuple

OK, WARN, MISSING = "ok", "warn", "missing"
FREE_DISK_WARN_BYTES = 3 * 1024**3   # a Rust release build and four images need about this

# npm has no declared minimum in the servers' files; 8 is the first with lockfile v3.
NPM_MINIMUM = (8, 0)


def _item(name: str, status: str, detail: str, fix: str | None = None) -> dict:
    return {"name": name, "status": status, "detail": detail, "fix": fix}


def check_docker() -> tuple[list[dict], bool]:
    items = []
    try:
        import docker

        sdk = docker.__version__
        items.append(_item("Docker SDK for Python", OK, sdk))
    except ImportError:
        items.append(_item("Docker SDK for Python", MISSING, "not installed",
                           "python3 -m pip install docker"))
        return items, False
    client_cli = shutil.which("docker")
    items.append(_item("docker client", OK if client_cli else WARN,
                       client_cli or "not on PATH (labctl does not need it; handy for you)"))
    from labctl.runtime.docker import DockerRuntime

    runtime = DockerRuntime()
    try:
        runtime.check()
    except EnvironmentProblem as problem:
        items.append(_item("Docker engine", MISSING, problem.message, problem.hint))
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


def _client_engine_items(runtime, context: str) -> list[dict]:
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


def _base_image_items(items: list[dict], runtime) -> list[dict]:
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


def check_toolchains() -> tuple[list[dict], list[str]]:
    items = []
    versions = {name: toolchain_version(name) for name in TOOLCHAINS}
    minimums = servers.required_toolchains()
    for name, tool in TOOLCHAINS.items():
        version = versions[name]
        minimum = minimums.get(name, NPM_MINIMUM)
        wanted = ".".join(map(str, minimum))
        if version is None:
            items.append(_item(name, MISSING, f"not found (the local runtime needs ≥ {wanted})",
                               tool.install_hint))
            continue
        parsed = version_tuple(version)
        if parsed is not None and parsed < minimum:
            items.append(_item(name, WARN, f"{version}: older than the {wanted} the servers need",
                               tool.install_hint))
        else:
            items.append(_item(name, OK, f"{version} (the servers need ≥ {wanted})"))
    runnable = []
    for server in servers.SERVERS:
        if all(versions.get(t) for t in server.toolchain):
            runnable.append(server.name)
    return items, runnable


def check_load_generators() -> list[dict]:
    items = []
    for tool in ("wrk", "oha"):
        found = shutil.which(tool)
        items.append(_item(f"{tool} on this host", OK if found else WARN,
                           found or "not found (labctl load runs wrk in a container on Docker)",
                           None if found else ("sudo apt-get install wrk" if tool == "wrk"
                                               else "cargo install oha")))
    return items


def check_proxy() -> dict:
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


def check_disk() -> dict:
    where = paths.cache_dir()
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    status = OK if free >= FREE_DISK_WARN_BYTES else WARN
    return _item("free disk", status, f"{free / 1024**3:.1f} GB free at {probe}",
                 None if status == OK else "free some space, or labctl's cache: rm -rf "
                                           f"{where}")


def check_isolation(engine_ok: bool) -> list[dict]:
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


def report() -> dict:
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
