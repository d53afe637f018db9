"""Atomic JSON state files: written whole or not at all, locked while merged, never fatal to read.

Two guarantees the learner's state (quiz progress, saved results) relies on:

- **atomic**: a file is written to a temporary sibling, flushed to disk, then renamed over the old
  one, so ``kill -9`` or a power cut at any instant leaves the old file or the new one, never a
  torn mix;
- **locked**: ``locked(path)`` holds an inter-process lock (filelock, a ``<name>.lock`` sibling)
  around a read-merge-write, so two labctl processes saving at once cannot lose each other's
  changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

# How long a save waits for another labctl's save to finish: saves take milliseconds, so this only
# expires when something is badly wrong (a hung network filesystem).
LOCK_TIMEOUT_S = 30.0


class LockTimeout(OSError):
    """Another process held a state file's lock for longer than ``LOCK_TIMEOUT_S``."""


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the inter-process lock that guards ``path``'s read-merge-write.

    The lock is a sibling file that stays in place (deleting it would race with a waiting process);
    the OS releases it when the holder dies, even under ``kill -9``. Raises ``OSError`` when the
    directory cannot be created or written (``LockTimeout`` when another process holds it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name(f"{path.name}.lock")), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(f"another labctl process has held {path.name}.lock for over "
                          f"{timeout:.0f} s") from None
    try:
        # Under the lock no other writer of ``path`` is running, so any temporary file left beside
        # it was abandoned by a process killed mid-save: remove it.
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        lock.release()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees either the old file or the new one.

    The temporary file lives in the same directory, so ``os.replace`` is a rename on one
    filesystem, which POSIX makes atomic.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


class CorruptFile(Exception):
    """Raised by ``read_json`` after it moved an unreadable file aside."""

    def __init__(self, path: Path, moved_to: Path, reason: str) -> None:
        super().__init__(f"{path} could not be read ({reason}); moved it to {moved_to}")
        self.path = path
        self.moved_to = moved_to
        self.reason = reason


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file; ``default`` if it does not exist.

    A file that exists but does not parse is renamed to ``<name>.corrupt-<timestamp>`` (kept for
    the learner to inspect, never deleted) and ``CorruptFile`` is raised so the caller can warn
    and start afresh.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return default
    try:
        return json.loads(data.decode("utf-8"))   # decoded here: bad bytes are corruption too
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        moved_to = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, moved_to)
        raise CorruptFile(path, moved_to, str(exc)) from exc
