"""Saved results: every compare and load run, as one JSON file each in the user's data directory.

Files are written atomically and never rewritten. An id looks like
``20261123-160512.123456-compare-3fa2`` (date, time to the microsecond, kind, random): sortable
by time even for runs saved a millisecond apart, readable, and unique enough to type a prefix.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from labctl import paths
from labctl.errors import LabctlError, UsageProblem
from labctl.fileio import CorruptFile, atomic_write_json, read_json


def results_dir() -> Path:
    return paths.data_dir() / "results"


def save_result(kind: str, document: dict) -> str:
    """Store ``document`` (a compare/load/run document) and return its new id."""
    now = dt.datetime.now()
    stamp = f"{now:%Y%m%d-%H%M%S.%f}"   # to the microsecond: saves a millisecond apart happen
    result_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
    document["id"] = result_id
    atomic_write_json(results_dir() / f"{result_id}.json", document)
    return result_id


def list_results() -> list[dict]:
    """Every saved result, newest first, with the fields a listing needs.

    A file that does not parse is moved aside (kept, never deleted) with a warning on stderr,
    and left out.
    """
    found = []
    for path in sorted(results_dir().glob("*.json"), reverse=True):
        try:
            document = read_json(path)
        except CorruptFile as corrupt:
            from labctl import ui

            ui.warn(f"the saved result {path.stem} could not be read ({corrupt.reason}); moved it "
                    f"to {corrupt.moved_to}")
            continue
        if not isinstance(document, dict):
            continue   # gone since the listing (read_json's default), or not a result at all
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
    entries = list_results()
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
