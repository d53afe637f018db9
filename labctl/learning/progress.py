"""Quiz progress: one FSRS card per prompt and per auto-graded item, kept in a small JSON file.

The file is ``<user data dir>/progress.json`` and is meant to be readable by a person::

    {
      "format_version": 1,
      "cards": {
        "003-first-bottleneck/blocking-rps": {
          "text_hash": "9c1e…",            # which version of the item was studied
          "card": { …fsrs Card.to_dict()… },
          "last_rating": "Good",
          "history": [{"at": "2026-…", "rating": "Good", "correct": true, "mode": "quiz"}]
        }
      },
      "lessons": {"003-first-bottleneck": {"last_score": 0.9, "passed": true, "at": "2026-…"}}
    }

Cards are keyed by ``<lesson id>/<item id>`` and remember a hash of the item's text: when an
author edits an item, only that item counts as new again; every other card keeps its schedule.
Entries for items that no longer exist are kept, untouched, rather than silently deleted.
Every save re-reads the file and writes only this process's new changes into it, so two labctl
sessions open at once (the menu in one terminal, a review in another) do not undo each other.

Scheduling: FSRS with no (re)learning steps, so every review schedules the next one at least a
day later (the quiz session itself, with its "try the missed ones again" round, is the short-term
practice). Rating map for auto-graded items: correct → Good, wrong → Again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler

from labctl import paths
from labctl.errors import EnvironmentProblem, UsageProblem
from labctl.fileio import CorruptFile, atomic_write_json, locked, read_json

FORMAT_VERSION = 1
HISTORY_KEPT = 20
RATING_NAMES = {Rating.Again: "Again", Rating.Hard: "Hard", Rating.Good: "Good", Rating.Easy: "Easy"}
RATINGS_BY_NAME = {name.lower(): rating for rating, name in RATING_NAMES.items()}


# The file's top-level sections: FSRS cards, quiz attempts per lesson, exercise states.
SECTIONS = ("cards", "lessons", "exercises")


def now() -> datetime:
    """The current time, or LABCTL_NOW (an ISO 8601 timestamp) when set: a testing aid that lets a
    test, or a curious learner, see what ``labctl quiz --review`` would ask on another day."""
    configured = os.environ.get("LABCTL_NOW", "").strip()
    if not configured:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(configured.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"LABCTL_NOW='{configured}' is not an ISO 8601 timestamp",
                           "Use e.g. 2026-05-02T09:00:00Z, or unset it") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def make_scheduler(*, fuzz: bool = True) -> Scheduler:
    return Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=fuzz)


def progress_path() -> Path:
    return paths.data_dir() / "progress.json"


def card_key(lesson_id: str, question_id: str) -> str:
    return f"{lesson_id}/{question_id}"


@dataclass(frozen=True)
class CardView:
    """What the progress file says about one question as it is written now."""

    status: str                      # new | changed (text edited since studied) | studied
    card: Card | None
    last_rating: str | None

    @property
    def studied(self) -> bool:
        return self.status == "studied"

    def due_at(self) -> datetime | None:
        return self.card.due if self.card is not None and self.studied else None

    def is_due(self, moment: datetime) -> bool:
        due = self.due_at()
        return due is not None and due <= moment


class Progress:
    """The progress file in memory; every change is written back at once, atomically."""

    def __init__(self, path: Path, data: dict[str, Any], warnings: list[str],
                 scheduler: Scheduler | None = None, clock: Callable[[], datetime] = now) -> None:
        self.path = path
        self.data = data
        self.warnings = warnings
        self.scheduler = scheduler or make_scheduler()
        self.clock = clock
        # What this process changed, so that saving merges with changes another labctl (a second
        # terminal) wrote meanwhile instead of overwriting them.
        self._changed: dict[str, set[str]] = {section: set() for section in SECTIONS}
        self._removed: dict[str, set[str]] = {section: set() for section in SECTIONS}

    # --- loading and saving ----------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None, *, scheduler: Scheduler | None = None,
             clock: Callable[[], datetime] = now) -> Progress:
        """Read the progress file. A corrupt one is moved aside (never deleted) with a warning
        in ``warnings`` and progress starts afresh; a file from a newer labctl is refused."""
        path = path or progress_path()
        warnings: list[str] = []
        try:
            raw = read_json(path, default=None)
        except CorruptFile as corrupt:
            warnings.append(f"your quiz progress file could not be read ({corrupt.reason}); moved it "
                            f"to {corrupt.moved_to} and started afresh")
            raw = None
        except OSError as exc:
            raise EnvironmentProblem(f"cannot read quiz progress {path}: {exc.strerror or exc}",
                                     "Check the file's permissions") from None
        data = cls._check_shape(path, raw, warnings)
        return cls(path, data, warnings, scheduler=scheduler, clock=clock)

    @staticmethod
    def _check_shape(path: Path, raw: Any, warnings: list[str]) -> dict[str, Any]:
        empty: dict[str, Any] = {"format_version": FORMAT_VERSION,
                                 **{section: {} for section in SECTIONS}}
        if raw is None:
            return empty
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise EnvironmentProblem(f"{path} was written by a newer labctl (progress format {version})",
                                     "Upgrade labctl; the file was left as it is")
        if not (isinstance(raw, dict) and version == FORMAT_VERSION
                and all(isinstance(raw.get(section, {}), dict) for section in SECTIONS)):
            moved = _move_aside(path)
            warnings.append(f"your quiz progress file is not in the expected shape; moved it to {moved} "
                            "and started afresh")
            return empty
        for section in SECTIONS:
            raw.setdefault(section, {})
        return raw

    def save(self) -> None:
        """Merge this process's changes into the file on disk and write it, under the file's lock
        so that a second labctl saving at the same moment cannot drop them (or have its own
        dropped). A write that fails (full disk, read-only directory) leaves the file as it was
        and the changes in memory, and raises ``EnvironmentProblem``."""
        try:
            with locked(self.path):
                self.data = self._merged_with_disk()
                atomic_write_json(self.path, self.data)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write quiz progress {self.path}: {exc.strerror or exc}",
                                     f"Free some disk space or make {self.path.parent} writable") from None
        for section in SECTIONS:
            self._changed[section].clear()
            self._removed[section].clear()

    def _merged_with_disk(self) -> dict[str, Any]:
        try:
            disk = read_json(self.path, default=None)
        except (CorruptFile, OSError):
            disk = None
        if not (isinstance(disk, dict) and disk.get("format_version") == FORMAT_VERSION
                and isinstance(disk.get("cards"), dict) and isinstance(disk.get("lessons"), dict)
                and isinstance(disk.get("exercises", {}), dict)):
            return self.data
        disk.setdefault("exercises", {})
        for section in SECTIONS:
            for key in self._removed[section]:
                disk[section].pop(key, None)
            for key in self._changed[section]:
                if key in self.data[section]:
                    disk[section][key] = self.data[section][key]
        return disk

    # --- reading --------------------------------------------------------------------------

    def view(self, lesson_id: str, question) -> CardView:
        entry = self.data["cards"].get(card_key(lesson_id, question.id))
        if not isinstance(entry, dict):
            return CardView("new", None, None)
        if entry.get("text_hash") != question.text_hash():
            return CardView("changed", None, None)
        card = self._card_from(entry, lesson_id, question.id)
        if card is None:
            return CardView("new", None, None)
        return CardView("studied", card, entry.get("last_rating"))

    def _card_from(self, entry: dict[str, Any], lesson_id: str, question_id: str) -> Card | None:
        try:
            card = Card.from_dict(entry["card"])
            if card.due.tzinfo is None:
                card.due = card.due.replace(tzinfo=timezone.utc)
            return card
        except (KeyError, TypeError, ValueError, AttributeError):
            message = (f"progress for {card_key(lesson_id, question_id)} could not be read; "
                       "that one question starts afresh")
            if message not in self.warnings:
                self.warnings.append(message)
            return None

    def lesson_record(self, lesson_id: str) -> dict[str, Any]:
        record = self.data["lessons"].get(lesson_id)
        return record if isinstance(record, dict) else {}

    def lesson_status(self, lesson, moment: datetime | None = None) -> LessonStatus:
        moment = moment or self.clock()
        views = [self.view(lesson.id, question) for question in lesson.questions()]
        studied = sum(view.studied for view in views)
        due = sum(view.is_due(moment) for view in views)
        record = self.lesson_record(lesson.id)
        if studied == 0:
            state = "new"
        elif (studied == len(views) and record.get("passed") is True
              and not any(view.last_rating == "Again" for question, view in zip(lesson.questions(), views)
                          if getattr(question, "kind", "") == "prompt")):
            # a prompt last rated Again is not known yet, whatever the items scored
            state = "done"
        else:
            state = "in progress"
        next_due = min((due_at for view in views if (due_at := view.due_at()) is not None),
                       default=None)
        return LessonStatus(state=state, studied=studied, total=len(views), due=due,
                            last_score=record.get("last_score"), next_due=next_due)

    # --- writing --------------------------------------------------------------------------

    def review(self, lesson_id: str, question, rating: Rating, *, correct: bool | None = None,
               mode: str = "quiz", moment: datetime | None = None, save: bool = True) -> Card:
        """Record one answer: schedule the card with FSRS and write the file."""
        moment = moment or self.clock()
        view = self.view(lesson_id, question)
        card = view.card if view.card is not None else Card(due=moment)
        card, _log = self.scheduler.review_card(card, rating, moment)
        key = card_key(lesson_id, question.id)
        old = self.data["cards"].get(key)
        history = old.get("history", []) if isinstance(old, dict) and view.studied else []
        event: dict[str, Any] = {"at": _iso(moment), "rating": RATING_NAMES[rating], "mode": mode}
        if correct is not None:
            event["correct"] = correct
        history = ([*history, event] if isinstance(history, list) else [event])[-HISTORY_KEPT:]
        self._changed["cards"].add(key)
        self._removed["cards"].discard(key)
        self.data["cards"][key] = {
            "text_hash": question.text_hash(),
            "card": card.to_dict(),
            "last_rating": RATING_NAMES[rating],
            "history": history,
        }
        if save:
            self.save()
        return card

    def record_attempt(self, lesson_id: str, score: float, passed: bool, *, mode: str,
                       moment: datetime | None = None) -> None:
        moment = moment or self.clock()
        self._changed["lessons"].add(lesson_id)
        self._removed["lessons"].discard(lesson_id)
        self.data["lessons"][lesson_id] = {"last_score": round(score, 4), "passed": passed,
                                           "at": _iso(moment), "mode": mode}
        self.save()

    def exercise_record(self, name: str) -> dict[str, Any]:
        record = self.data["exercises"].get(name)
        return record if isinstance(record, dict) else {}

    def exercise_state(self, name: str) -> str:
        """not started | started | skipped | passed (a pass is kept even if a later check fails;
        a skip holds until the exercise is started again)."""
        record = self.exercise_record(name)
        if record.get("passed_at"):
            return "passed"
        if record.get("skipped_at"):
            return "skipped"
        return "started" if record.get("started_at") else "not started"

    def update_exercise(self, name: str, moment: datetime | None = None, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the exercise's record and write the file. ``passed=True`` sets
        ``passed_at`` the first time; ``started=True`` sets ``started_at``; a ``last_check`` is
        stamped with the moment; ``skipped=True`` sets ``skipped_at`` (`labctl next --skip`)."""
        moment = moment or self.clock()
        record = dict(self.exercise_record(name))
        if fields.pop("started", False):
            record["started_at"] = _iso(moment)
            record.pop("skipped_at", None)           # starting it again takes back a skip
        if fields.pop("skipped", False):
            record["skipped_at"] = _iso(moment)
        if fields.pop("passed", False) and not record.get("passed_at"):
            record["passed_at"] = _iso(moment)
        if "last_check" in fields:
            fields["last_check"] = {"at": _iso(moment), **fields["last_check"]}
        record.update(fields)
        self._changed["exercises"].add(name)
        self._removed["exercises"].discard(name)
        self.data["exercises"][name] = record
        self.save()
        return record

    def reset(self, lesson_id: str | None = None) -> int:
        """Forget progress of one lesson (or all); returns how many cards were removed."""
        self.data = self._merged_with_disk()
        prefix = "" if lesson_id is None else f"{lesson_id}/"
        cards = [key for key in self.data["cards"] if key.startswith(prefix)]
        records = [key for key in self.data["lessons"] if lesson_id is None or key == lesson_id]
        for section, keys in (("cards", cards), ("lessons", records)):
            for key in keys:
                del self.data[section][key]
                self._removed[section].add(key)
                self._changed[section].discard(key)
        self.save()
        return len(cards)


@dataclass(frozen=True)
class LessonStatus:
    state: str                       # new | in progress | done
    studied: int                     # questions with a current card
    total: int                       # prompts + items
    due: int                         # studied questions due now
    last_score: float | None
    next_due: datetime | None


def rating_for(correct: bool) -> Rating:
    """How an auto-graded answer is scheduled: right → Good, wrong → Again."""
    return Rating.Good if correct else Rating.Again


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _move_aside(path: Path) -> Path:
    moved = path.with_name(f"{path.name}.corrupt-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, moved)
    except OSError:
        pass
    return moved
