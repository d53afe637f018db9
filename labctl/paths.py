"""Every directory labctl reads or writes, in one place.

User data (results, quiz progress) and caches (local builds) follow the platform's conventions
through platformdirs, so on Linux they honour XDG_DATA_HOME and XDG_CACHE_HOME.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import platformdirs

APP_NAME = "labctl"


def data_dir() -> Path:
    """Results and quiz progress: small JSON files the learner may want to keep."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Build products of the local runtime: safe to delete, rebuilt on demand."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """Bookkeeping of running things (local server processes), so a later run can reap them."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def package_dir() -> Path:
    """The installed ``labctl`` package itself (its Python files and its ``docker/`` contexts)."""
    return Path(__file__).resolve().parent


def docker_context(name: str) -> Path:
    """The build context of one of labctl's own images (probe, wrk, oha): ``labctl/docker/NAME``."""
    return package_dir() / "docker" / name


@cache
def resource_root() -> Path:
    """The folder holding ``servers/`` and ``lessons/``.

    In a checkout (or an editable install) that is the repository itself; an installed wheel
    carries a copy under ``labctl/_data``.
    """
    package = package_dir()
    bundled = package / "_data"
    if (bundled / "servers").is_dir():
        return bundled
    return package.parent


def servers_dir() -> Path:
    return resource_root() / "servers"


def lessons_dir() -> Path:
    return resource_root() / "lessons"
