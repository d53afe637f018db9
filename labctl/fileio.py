"""Atomic JSON state files: written whole or not at all, and never fatal to read."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        moved_to = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, moved_to)
        raise CorruptFile(path, moved_to, str(exc)) from exc
