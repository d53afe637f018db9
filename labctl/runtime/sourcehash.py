"""A digest of a source tree: both runtimes use it to tell whether a build is up to date.

Build products and tool caches a developer may have made by hand (``target``, ``node_modules``,
…) are left out, so building by hand in servers/ never makes labctl rebuild.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

IGNORED_PARTS = {"target", "node_modules", ".venv", "__pycache__", ".git"}


def hash_tree(root: Path, extra: list | None = None) -> str:
    """A digest of every file under ``root`` (names and contents) plus ``extra``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if IGNORED_PARTS.intersection(relative.parts):
            continue
        digest.update(str(relative).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update(repr(extra or []).encode())
    return digest.hexdigest()[:16]
