"""Progress: FSRS cards persisted and reloaded, edits reset only what changed, corrupt files survive."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fsrs import Rating
from typer.testing import CliRunner

from labctl import paths
from labctl.cli import app
from labctl.errors import EnvironmentProblem
from labctl.learning import lessons, quiz
from labctl.learning import progress as progresslib
from labctl.learning.progress import Progress

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
runner = CliRunner()


@pytest.fixture(scope="module")
def lesson() -> lessons.Lesson:
    return lessons.load_lesson(paths.lessons_dir() / "003-first-bottleneck.md")


def first_interval(rating: Rating) -> timedelta:
    """The first interval FSRS gives a new card, derived from the library's own parameters:
    the first four are the initial stabilities (days) for Again, Hard, Good and Easy, and at a
    desired retention of 0.9 the interval equals the stability, rounded, at least a day. So the
    expectations follow whatever fsrs version is installed, within the major version pinned."""
    scheduler = progresslib.make_scheduler(fuzz=False)
    assert scheduler.desired_retention == 0.9
    return timedelta(days=max(1, round(scheduler.parameters[rating.value - 1])))


def fresh(path: Path | None = None) -> Progress:
    return Progress.load(path, scheduler=progresslib.make_scheduler(fuzz=False), clock=lambda: T0)


def test_progress_lives_in_the_user_data_dir(tmp_path):
    assert progresslib.progress_path() == tmp_path / "data" / "labctl" / "progress.json"


def test_a_review_is_persisted_and_reloaded(lesson):
    store = fresh()
    item = lesson.question("blocking-rps")
    card = store.review(lesson.id, item, Rating.Good, correct=True, moment=T0)
    assert card.due == T0 + first_interval(Rating.Good)   # no learning steps: a day or more

    raw = json.loads(progresslib.progress_path().read_text())
    entry = raw["cards"]["003-first-bottleneck/blocking-rps"]
    assert raw["format_version"] == 1
    assert entry["text_hash"] == item.text_hash()
    assert entry["last_rating"] == "Good"
    assert entry["history"] == [{"at": "2026-03-02T09:00:00+00:00", "rating": "Good", "mode": "quiz",
                                 "correct": True}]
    assert entry["card"]["due"].startswith((T0 + first_interval(Rating.Good)).isoformat()[:19])

    again = fresh()
    view = again.view(lesson.id, item)
    assert view.status == "studied" and view.last_rating == "Good"
    assert view.card.due == card.due and view.card.stability == card.stability
    assert not view.is_due(T0 + first_interval(Rating.Good) - timedelta(minutes=1))
    assert view.is_due(T0 + first_interval(Rating.Good) + timedelta(minutes=1))


def test_ratings_schedule_as_documented(lesson):
    store = fresh()
    due = {}
    for rating, question in zip(Rating, lesson.questions()):
        due[rating] = store.review(lesson.id, question, rating, moment=T0).due - T0
    assert due == {rating: first_interval(rating) for rating in Rating}
    # What lessons/FORMAT.md and the quiz tell the learner: a miss comes back the next day, and
    # each better rating waits at least as long.
    assert due[Rating.Again] == timedelta(days=1)
    assert due[Rating.Again] <= due[Rating.Hard] <= due[Rating.Good] < due[Rating.Easy]
    assert progresslib.rating_for(True) == Rating.Good and progresslib.rating_for(False) == Rating.Again


def test_second_review_builds_on_the_first(lesson):
    store = fresh()
    item = lesson.question("parallel-abc")
    first = store.review(lesson.id, item, Rating.Good, moment=T0)
    second = fresh().review(lesson.id, item, Rating.Good, moment=first.due)
    assert second.due - first.due > first.due - T0          # intervals grow
    entry = json.loads(progresslib.progress_path().read_text())["cards"][f"{lesson.id}/parallel-abc"]
    assert len(entry["history"]) == 2


def test_editing_one_item_resets_only_that_item(lesson):
    store = fresh()
    for question in lesson.questions():
        store.review(lesson.id, question, Rating.Good, moment=T0)
    edited_item = dataclasses.replace(lesson.question("technique-cache"),
                                      question="Which technique stops most repeated reads of the catalogue?")
    items = tuple(edited_item if item.id == "technique-cache" else item for item in lesson.items)
    edited = dataclasses.replace(lesson, items=items)

    reloaded = fresh()
    statuses = {q.id: reloaded.view(edited.id, q).status for q in edited.questions()}
    assert statuses.pop("technique-cache") == "changed"
    assert set(statuses.values()) == {"studied"}
    # whitespace alone is not an edit
    rewrapped = dataclasses.replace(lesson.question("parallel-abc"),
                                    question=lesson.question("parallel-abc").question.replace(" ", "\n  ", 3))
    assert reloaded.view(lesson.id, rewrapped).status == "studied"
    # the edited item's old entry stays in the file until it is reviewed again
    assert f"{lesson.id}/technique-cache" in reloaded.data["cards"]
    status = reloaded.lesson_status(edited, T0)
    assert status.state == "in progress" and status.studied == status.total - 1


def test_lesson_status_new_in_progress_done(lesson):
    store = fresh()
    assert store.lesson_status(lesson, T0).state == "new"
    store.review(lesson.id, lesson.items[0], Rating.Good, moment=T0)
    assert store.lesson_status(lesson, T0).state == "in progress"
    for question in lesson.questions():
        store.review(lesson.id, question, Rating.Good, moment=T0)
    assert store.lesson_status(lesson, T0).state == "in progress"   # no passed attempt yet
    store.record_attempt(lesson.id, 0.9, True, mode="quiz", moment=T0)
    status = store.lesson_status(lesson, T0)
    assert status.state == "done" and status.last_score == 0.9 and status.due == 0
    later = store.lesson_status(lesson, T0 + first_interval(Rating.Good) + timedelta(days=1))
    assert later.due == later.total


def test_due_questions_across_lessons_only_studied_and_due(lesson):
    other = lessons.load_lesson(paths.lessons_dir() / "000-four-servers.md")
    store = fresh()
    store.review(lesson.id, lesson.question("blocking-rps"), Rating.Again, moment=T0)
    store.review(lesson.id, lesson.question("littles-law"), Rating.Good, moment=T0)
    store.review(other.id, other.prompts[1], Rating.Hard, moment=T0)
    due = quiz.due_questions([other, lesson], store, T0 + timedelta(days=1, hours=1))
    assert [(q.lesson.id, q.question.id) for q in due] == [
        ("000-four-servers", "prompt-2"), ("003-first-bottleneck", "blocking-rps")]
    assert quiz.due_questions([other, lesson], store, T0) == []


def test_corrupt_file_is_moved_aside_with_a_warning(lesson):
    path = progresslib.progress_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"format_version": 1, "cards": {"003-fi')
    store = fresh()
    assert len(store.warnings) == 1 and "moved it to" in store.warnings[0]
    assert not path.exists()
    aside = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text().startswith('{"format_version"')
    store.review(lesson.id, lesson.items[0], Rating.Good, moment=T0)   # and the quiz goes on
    assert json.loads(path.read_text())["cards"]


def test_wrong_shape_is_moved_aside_too():
    path = progresslib.progress_path()
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2, 3]")
    store = fresh()
    assert store.warnings and store.data["cards"] == {}
    assert list(path.parent.glob("progress.json.corrupt-*"))


def test_one_unreadable_card_does_not_lose_the_others(lesson):
    store = fresh()
    first, second = lesson.items[0], lesson.items[1]
    store.review(lesson.id, first, Rating.Good, moment=T0)
    store.review(lesson.id, second, Rating.Good, moment=T0)
    raw = json.loads(progresslib.progress_path().read_text())
    raw["cards"][f"{lesson.id}/{first.id}"]["card"] = {"due": "not a date"}
    progresslib.progress_path().write_text(json.dumps(raw))
    reloaded = fresh()
    assert reloaded.view(lesson.id, first).status == "new"
    assert reloaded.view(lesson.id, second).status == "studied"
    assert any(first.id in warning for warning in reloaded.warnings)


def test_progress_from_a_newer_labctl_is_refused_and_left_alone():
    path = progresslib.progress_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"format_version": 9, "cards": {}}')
    with pytest.raises(EnvironmentProblem, match="newer labctl"):
        fresh()
    assert path.read_text() == '{"format_version": 9, "cards": {}}'


def test_reset_one_lesson_keeps_the_others(lesson):
    other = lessons.load_lesson(paths.lessons_dir() / "000-four-servers.md")
    store = fresh()
    store.review(lesson.id, lesson.items[0], Rating.Good, moment=T0)
    store.review(other.id, other.items[0], Rating.Good, moment=T0)
    assert store.reset(lesson.id) == 1
    reloaded = fresh()
    assert reloaded.view(lesson.id, lesson.items[0]).status == "new"
    assert reloaded.view(other.id, other.items[0]).status == "studied"
    assert reloaded.reset() == 1
    assert fresh().data["cards"] == {}


def test_labctl_now_is_parsed_and_checked(monkeypatch):
    monkeypatch.setenv("LABCTL_NOW", "2026-05-02T09:00:00Z")
    assert progresslib.now() == datetime(2026, 5, 2, 9, tzinfo=timezone.utc)
    monkeypatch.setenv("LABCTL_NOW", "2026-05-02 09:00")
    assert progresslib.now().tzinfo is not None
    monkeypatch.setenv("LABCTL_NOW", "yesterday")
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 2 and "LABCTL_NOW" in result.stderr


def test_cli_warns_about_a_corrupt_file_and_carries_on():
    path = progresslib.progress_path()
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "moved it to" in result.stderr
    assert "Traceback" not in result.output


def test_reset_asks_first_and_yes_skips(lesson):
    store = fresh()
    store.review(lesson.id, lesson.items[0], Rating.Good, moment=T0)
    result = runner.invoke(app, ["quiz", "--reset", "003"])
    assert result.exit_code == 2 and "--yes" in result.stderr        # no terminal to ask in
    assert fresh().view(lesson.id, lesson.items[0]).studied
    result = runner.invoke(app, ["quiz", "--reset", "003", "--yes"])
    assert result.exit_code == 0 and "1 card(s) forgotten" in result.stdout
    assert not fresh().view(lesson.id, lesson.items[0]).studied


def test_two_sessions_at_once_do_not_overwrite_each_other(lesson):
    first, second = fresh(), fresh()                     # e.g. the menu and a second terminal
    first.review(lesson.id, lesson.items[0], Rating.Good, moment=T0)
    second.review(lesson.id, lesson.items[1], Rating.Again, moment=T0)
    first.review(lesson.id, lesson.items[2], Rating.Easy, moment=T0)
    merged = fresh()
    assert [merged.view(lesson.id, item).last_rating for item in lesson.items[:3]] == ["Good", "Again", "Easy"]
    second.reset(lesson.id)
    first.review(lesson.id, lesson.items[3], Rating.Good, moment=T0)   # after the reset elsewhere
    after = fresh()
    assert [after.view(lesson.id, item).status for item in lesson.items[:4]] == ["new", "new", "new", "studied"]
