"""Saved results: every compare and load run, as one JSON file each in the user's data directory.

Files are written atomically and never rewritten. An id looks like
``20261123-160512.123456-compare-3fa2`` (date, time to the microsecond, kind, random): sortable
by time even for runs saved a millisecond apart, readable, and unique enough to type a prefix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from labctl import paths
from labctl.errors import EnvironmentProblem, LabctlError, UsageProblem
from labctl.fileio import CorruptFile, atomic_write_json, locked, read_json
from labctl.results.documents import ResultEntry, ResultsDocument

RESULTS_SCHEMA = "labctl.results/1"


class ListedResult(ResultEntry):
    """One saved result as ``list_results`` finds it: its listing entry and the document."""

    document: dict[str, Any]


def results_dir() -> Path:
    return paths.data_dir() / "results"


def save_result(kind: str, document: Mapping[str, Any]) -> str:
    """Store ``document`` (a compare/load/run document) and return its new id.

    The id is chosen and the file written under the results folder's lock, so two labctl runs
    finishing in the same second can never pick the same id and overwrite one another. A failed
    write (full disk, read-only folder) raises ``EnvironmentProblem``; nothing half-written stays.
    """
    folder = results_dir()
    try:
        with locked(folder / "results"):
            now = dt.datetime.now()
            stamp = f"{now:%Y%m%d-%H%M%S.%f}"   # to the microsecond: saves a millisecond apart happen
            result_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
            while (folder / f"{result_id}.json").exists():
                result_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
            cast(dict, document)["id"] = result_id   # the caller's document carries its id
            atomic_write_json(folder / f"{result_id}.json", document)
    except OSError as exc:
        cast(dict, document).pop("id", None)  # so the output does not name a file that was never written
        raise EnvironmentProblem(f"cannot save the result in {folder}: {exc.strerror or exc}",
                                 f"Free some disk space or make {folder} writable; the figures "
                                 "above are all there is of this run") from None
    return result_id


@contextlib.contextmanager
def saved(kind: str, document: Mapping[str, Any]) -> Iterator[str | None]:
    """Save ``document``, run the body (which prints it), then report a save that failed.

    A run's figures are worth more than its copy on disk: when the disk is full or the data
    folder read-only, the learner still sees the result, and then gets the one-line error and
    exit status 2. Yields the new id, or None when the save failed.
    """
    try:
        result_id, problem = save_result(kind, document), None
    except EnvironmentProblem as error:
        result_id, problem = None, error
    yield result_id
    if problem is not None:
        raise problem


def list_results() -> list[ListedResult]:
    """Every saved result, newest first, with the fields a listing needs.

    A file that does not parse is moved aside (kept, never deleted) with a warning on stderr,
    and left out.
    """
    found: list[ListedResult] = []
    for path in sorted(results_dir().glob("*.json"), reverse=True):
        try:
            document = read_json(path)
        except CorruptFile as corrupt:
            from labctl import ui

            ui.warn(f"the saved result {path.stem} could not be read ({corrupt.reason}); moved it "
                    f"to {corrupt.moved_to}")
            continue
        except OSError:
            continue   # a directory named like a result, a file that cannot be read
        if not isinstance(document, dict) or not isinstance(document.get("schema", ""), str):
            continue   # gone since the listing (read_json's default), or not a result at all
        runtime = document.get("runtime")
        found.append({
            "id": path.stem,
            "kind": document.get("schema", "?").split("/")[0].removeprefix("labctl."),
            "created": str(document.get("created", "?")),
            "runtime": str(runtime.get("runtime", "?")) if isinstance(runtime, dict) else "?",
            "servers": _server_names(document),
            "document": document,
        })
    return found


def listing(entries: list[ListedResult]) -> ResultsDocument:
    """The ``labctl.results/1`` document: each entry less its document."""
    return {"schema": RESULTS_SCHEMA, "results": [
        {"id": e["id"], "kind": e["kind"], "created": e["created"], "runtime": e["runtime"],
         "servers": e["servers"]} for e in entries]}


def load_result(reference: str) -> dict:
    """A saved result by id, unique id prefix, or ``latest``."""
    if not reference.strip():
        raise UsageProblem("an empty result id", "Give an id or its start (labctl results lists them), "
                           "or 'latest'")
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
        return [str(name) for name in document["servers"]]
    server = document.get("server")
    if isinstance(server, dict):
        return [str(server.get("name", "?"))]
    return []


@contextlib.contextmanager
def shown(what: str) -> Iterator[None]:
    """Around drawing saved documents: one that lacks a field this labctl reads (written by
    another version, edited by hand, damaged) is one line naming it, not a traceback."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        detail = f"no field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UsageProblem(f"{what} is not in the shape this labctl reads ({detail})",
                           "Its raw document: labctl results show ID --json") from exc
