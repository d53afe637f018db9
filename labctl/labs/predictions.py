"""A learner's own predictions for a lab, written before running it, and their score.

A predictions file is TOML or JSON: one table per column of the lab's matrix (a server, e.g.
``go``, or ``python-h11``), mapping a row (``7``, or a row's key) to what the learner expects::

    [go]
    7 = 400               # a status
    10 = "200 open"       # a status and whether the connection stays open
    [python]              # "python" counts for every Python column (h11 and httptools)
    19 = 405

Each lab decides what a row's answer looks like and how one is judged; this module only reads
the file and scores it against the measured cells.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

from labctl.errors import UsageProblem
from labctl.results.documents import JudgedPrediction, YourPredictions


def load(path: Path) -> dict[str, dict[str, str]]:
    """The file's predictions as {column: {row: answer text}}; exit 2 with one line if bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageProblem(f"cannot read the predictions file {path}: {reason}",
                           "Give the path of a TOML or JSON file") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageProblem(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: "
                           f"{exc}", "Compare it with the sheet from --sheet") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UsageProblem(f"{path}: expected one table per server (e.g. [go]) of row = answer",
                           "Compare it with the sheet from --sheet")
    return {column.lower(): {str(row): _text(answer) for row, answer in rows.items()}
            for column, rows in data.items()}


def _text(answer: object) -> str:
    return str(answer).strip().lower() if not isinstance(answer, bool) else str(answer).lower()


def score(predictions: dict[str, dict[str, str]], cells: dict[str, dict[str, dict]],
          judge: Callable[[str, dict], bool], row_keys: dict[str, str] | None = None
          ) -> YourPredictions:
    """Judge each prediction against the measured cell it names.

    ``cells``: {column: {row: cell}} as the lab measured them. A prediction for ``python``
    applies to every column that starts with ``python-``. ``row_keys`` maps a row's key
    (``"space-before-colon"``) to its number, so either may be used. Rows or columns the run
    did not measure are listed, not counted.
    """
    row_keys = row_keys or {}
    judged: list[JudgedPrediction] = []
    unmatched: list[str] = []
    for column, rows in predictions.items():
        targets = [c for c in cells if c == column or c.startswith(column + "-")]
        for row, answer in rows.items():
            row_id = row_keys.get(row, row)
            found = [(c, cells[c][row_id]) for c in targets if row_id in cells[c]]
            if not found:
                unmatched.append(f"{column}.{row}")
            for target, cell in found:
                judged.append({"column": target, "row": row_id, "predicted": answer,
                               "correct": bool(judge(answer, cell))})
    right = sum(1 for j in judged if j["correct"])
    return {"judged": judged, "right": right, "total": len(judged),
            "score": round(right / len(judged), 3) if judged else None,
            "not_measured": unmatched}


def sheet(title: str, columns: list[str], rows: list[tuple[str, str]], example: str) -> str:
    """A blank predictions file: every row as a comment, one table per column."""
    lines = [f"# Your predictions for {title}: fill in, then run the lab with --predict FILE.",
             f"# {example}", "# Rows:"]
    lines += [f"#   {row:>3}  {label}" for row, label in rows]
    for column in columns:
        lines += ["", f"[{column}]"] + [f"# {row} = " for row, _ in rows]
    return "\n".join(lines) + "\n"
