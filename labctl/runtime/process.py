"""Is a process still there? Used to tell a live labctl (or server) from one that is gone."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    if pid <= 0:
        return False   # kill(0 or -n, 0) would ask about whole process groups
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # it exists, under another user
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True   # no /proc (macOS): kill(0) is all we can know


def alive_text(pid_text: str | None) -> bool:
    """``alive`` for a pid stored as text (a container label); False when it is not a number."""
    try:
        return alive(int(pid_text or ""))
    except ValueError:
        return False
