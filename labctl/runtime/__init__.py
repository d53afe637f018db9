"""Choosing where servers run: Docker, native processes, or whichever this machine supports."""

from __future__ import annotations

from collections.abc import Callable

from labctl import config
from labctl.errors import EnvironmentProblem, UsageProblem
from labctl.runtime.base import Runtime

CHOICES = ("auto", "docker", "local")


def select(name: str | None, announce: Callable[[str], None] | None = None) -> Runtime:
    """The runtime a command asked for; ``auto`` picks Docker when an engine answers."""
    choice = (name or config.default_runtime()).lower()
    if choice not in CHOICES:
        raise UsageProblem(f"unknown runtime '{choice}'", "Use one of: " + ", ".join(CHOICES))
    if choice == "docker":
        from labctl.runtime.docker import DockerRuntime

        runtime: Runtime = DockerRuntime()
        runtime.check()
        return runtime
    if choice == "local":
        from labctl.runtime.local import LocalRuntime

        return LocalRuntime()
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.local import LocalRuntime

    docker_runtime = DockerRuntime()
    try:
        docker_runtime.check()
    except EnvironmentProblem as problem:
        if announce:
            announce(f"runtime: local (native processes), because {problem.message}")
        return LocalRuntime()
    missing = docker_runtime.missing_base_image()
    if missing is None:
        return docker_runtime
    if announce:
        announce(f"runtime: local (native processes), because the Docker engine cannot get the "
                 f"base image {missing} (no registry?); set LABCTL_*_IMAGE to images it has, or "
                 "see labctl doctor")
    return LocalRuntime()
