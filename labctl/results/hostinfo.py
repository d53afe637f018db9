"""Facts about this machine and this labctl, stored with every result so it can be read later."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import cache

from labctl import __version__, paths
from labctl.results.documents import Host
from labctl.runtime import cpus


@cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def source_revision() -> str:
    """The git commit of the servers' source when run from a checkout, else labctl's version."""
    try:
        out = subprocess.run(
            ["git", "-C", str(paths.servers_dir()), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False)
        if out.returncode == 0 and out.stdout.strip():
            dirty = subprocess.run(
                ["git", "-C", str(paths.servers_dir()), "status", "--porcelain", "--", "."],
                capture_output=True, text=True, timeout=5, check=False).stdout.strip()
            return out.stdout.strip() + ("-modified" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return f"labctl-{__version__}"


def host_facts() -> Host:
    from labctl.measure.probe import (
        libcurl_version,  # libcurl loads only for a document that needs it
    )

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": cpus.usable_cores(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libcurl": libcurl_version(),
        "labctl_version": __version__,
        "source_revision": source_revision(),
    }
