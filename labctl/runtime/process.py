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


def start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), or None where that is unknown.

    Stored beside a pid so a reaper can tell the process that started a server from an unrelated
    one that was given the same pid later."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]   # field 22: starttime
    except (OSError, IndexError):
        return None


def owner_alive(pid_text: str | None, started_text: str | None) -> bool:
    """Is the labctl process that left this label still the one running under that pid?"""
    if not alive_text(pid_text):
        return False
    if not started_text:
        return True   # labelled by a labctl that did not record it, or no /proc: trust the pid
    now = start_time(int(pid_text or 0))
    return now is None or now == started_text
