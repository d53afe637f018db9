"""Saved results: every compare and load run, as one JSON file each in the user's data directory.

Files are written atomically and never rewritten. An id looks like
``20261123-160512-compare-3fa2``: sortable by time, readable, and unique enough to type a prefix.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

from labctl import paths
from labctl.errors import LabctlError, UsageProblem
from labctl.fileio import atomic_write_json


def results_dir() -> Path:
    return paths.data_dir() / "results"


def save_result(kind: str, document: dict) -> str:
    """Store ``document`` (a compare/load/run document) and return its new id."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    result_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
    document["id"] = result_id
    atomic_write_json(results_dir() / f"{result_id}.json", document)
    return result_id


def list_results() -> list[dict]:
    """Every saved result, newest first, with the fields a listing needs."""
    found = []
    for path in sorted(results_dir().glob("*.json"), reverse=True):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found.append({"id": path.stem, "kind": "?", "created": "?", "unreadable": True})
            continue
        found.append({
            "id": path.stem,
            "kind": document.get("schema", "?").split("/")[0].removeprefix("labctl."),
            "created": document.get("created", "?"),
            "runtime": (document.get("runtime") or {}).get("runtime", "?"),
            "servers": _server_names(document),
            "document": document,
        })
    return found


def load_result(reference: str) -> dict:
    """A saved result by id, unique id prefix, or ``latest``."""
    entries = [e for e in list_results() if not e.get("unreadable")]
    if not entries:
        raise LabctlError("no saved results yet", "Run labctl compare or labctl load first")
    if reference == "latest":
        return entries[0]["document"]
    matches = [e for e in entries if e["id"] == reference] or \
              [e for e in entries if e["id"].startswith(reference)]
    if len(matches) == 1:
        return matches[0]["document"]
    if not matches:
        raise UsageProblem(f"no saved result '{reference}'", "List them with: labctl results")
    raise UsageProblem(f"'{reference}' matches {len(matches)} results",
                       "Type more of the id (labctl results lists them)")


def _server_names(document: dict) -> list[str]:
    if isinstance(document.get("servers"), dict):
        return list(document["servers"])
    server = document.get("server")
    if isinstance(server, dict):
        return [server.get("name", "?")]
    return []
