"""An unfinished quiz sitting, kept so that ``labctl quiz LESSON`` resumes where it stopped.

The spaced-repetition schedule (progress.json) already keeps every answer; what it cannot say is
which answers belong to the sitting that was interrupted, so the score at the end would count
only the questions asked after the restart. This file keeps that: per lesson, the answers of the
current sitting, each with the hash of the question's text (an edited question is asked again).
It lives next to progress.json as ``quiz-sitting.json`` and is removed when the sitting ends.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labctl import paths
from labctl.fileio import CorruptFile, atomic_write_json, read_json

FORMAT_VERSION = 1


def sitting_path() -> Path:
    return paths.data_dir() / "quiz-sitting.json"


class Sittings:
    """The unfinished sittings, one per lesson; every change is written at once, atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or sitting_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = read_json(self.path, default=None)
        except (CorruptFile, OSError):
            data = None
        if not (isinstance(data, dict) and data.get("format_version") == FORMAT_VERSION
                and isinstance(data.get("lessons"), dict)):
            return {"format_version": FORMAT_VERSION, "lessons": {}}
        return data

    def answers(self, lesson_id: str) -> dict[str, dict[str, Any]]:
        """question id → {"hash", "outcome": correct | wrong | skipped | a rating name, "given"}."""
        entry = self._read()["lessons"].get(lesson_id)
        answers = entry.get("answers") if isinstance(entry, dict) else None
        return answers if isinstance(answers, dict) else {}

    def record(self, lesson_id: str, question_id: str, text_hash: str, outcome: str, given: str = "") -> None:
        data = self._read()
        entry = data["lessons"].setdefault(lesson_id, {})
        if not isinstance(entry.get("answers"), dict):
            entry["answers"] = {}
            entry["started"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        entry["answers"][question_id] = {"hash": text_hash, "outcome": outcome, "given": given}
        self._write(data)

    def clear(self, lesson_id: str) -> None:
        data = self._read()
        if data["lessons"].pop(lesson_id, None) is not None:
            self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        try:
            atomic_write_json(self.path, data)
        except OSError:
            pass  # resuming is a convenience: a read-only data directory must not stop the quiz
