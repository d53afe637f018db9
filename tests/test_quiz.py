"""Quiz logic: parsing and grading, key-point marking, sessions, and the answers-file mode."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from fsrs import Rating
from typer.testing import CliRunner

from labctl import lessons, paths, quiz
from labctl import progress as progresslib
from labctl.cli import app
from labctl.progress import Progress

runner = CliRunner()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def lesson() -> lessons.Lesson:
    return lessons.load_lesson(paths.lessons_dir() / "003-first-bottleneck.md")


def correct_answers(lesson: lessons.Lesson) -> dict:
    answers = {}
    for item in lesson.items:
        if item.kind == "choice":
            answers[item.id] = lessons.LETTERS[item.answer]
        else:
            answers[item.id] = item.answer
    return answers


# --- parsing and grading ---------------------------------------------------------------------

def test_choice_answers(lesson):
    item = lesson.question("technique-cache")               # answer a) Caching
    assert quiz.grade(item, "a").correct
    assert quiz.grade(item, " A ").correct
    assert quiz.grade(item, "a)").correct
    assert quiz.grade(item, "caching").correct               # the text of the choice
    assert not quiz.grade(item, "b").correct
    assert quiz.grade(item, "b").given == "b) Parallelizing"
    for bad in ("e", "zz", "", 1, True):
        with pytest.raises(quiz.InvalidAnswer):
            quiz.grade(item, bad)


def test_true_false_answers(lesson):
    item = lesson.question("async-not-faster")               # false
    for spelling in (False, "f", "false", "No", "n"):
        assert quiz.grade(item, spelling).correct
    for spelling in (True, "t", "TRUE", "yes"):
        assert not quiz.grade(item, spelling).correct
    with pytest.raises(quiz.InvalidAnswer):
        quiz.grade(item, "maybe")


def test_numeric_answers_with_tolerance(lesson):
    item = lesson.question("blocking-rps")                   # 20 ± 0.5 req/s
    for good in (20, 20.5, 19.5, "20", "20 req/s", " 20.0 ", "2e1"):
        assert quiz.grade(item, good).correct, good
    for wrong in (21, "19.4", "50", 0):
        assert not quiz.grade(item, wrong).correct, wrong
    for unreadable in ("twenty", "1000/50", "20 or 21", "", True, "- 5"):
        with pytest.raises(quiz.InvalidAnswer):
            quiz.grade(item, unreadable)
    big = lesson.question("hundred-connections")            # 2000 ± 20
    assert quiz.grade(big, "2,000").correct


def test_exact_numeric_tolerance_zero(lesson):
    item = lesson.question("sequential-abc")                 # 80 ms, tolerance 0
    assert quiz.grade(item, 80).correct
    assert not quiz.grade(item, 80.01).correct


def test_tolerance_is_inclusive_despite_floating_point():
    item = lessons.Item(id="x", kind="numeric", question="?", explanation="!", answer=0.812,
                        tolerance=0.01)
    assert quiz.grade(item, 0.822).correct and quiz.grade(item, 0.802).correct
    assert not quiz.grade(item, 0.823).correct


# --- key points ------------------------------------------------------------------------------------

def test_stemming_meets_common_forms():
    assert quiz.stem("blocking") == quiz.stem("blocks") == quiz.stem("blocked") == quiz.stem("block")
    assert quiz.stem("caches") == quiz.stem("cache") == quiz.stem("caching")
    assert quiz.keyword_in("event loop", quiz.stems("The Event-Loops froze"))
    assert not quiz.keyword_in("event loop", quiz.stems("an event happened in the loop"))


def test_touched_marks_key_points_by_keywords(lesson):
    third = lesson.prompts[2]
    answer = ("Sequentially it takes 80 ms. Run the calls in parallel with asyncio.gather, "
              "and put a cache in front of the catalogue.")
    assert quiz.touched(third, answer) == [True, True, False, True]
    assert quiz.touched(third, "") == [False] * 4


# --- sessions ------------------------------------------------------------------------------------

def test_session_scores_first_answers_and_records_them(lesson):
    store = Progress.load(scheduler=progresslib.make_scheduler(fuzz=False), clock=lambda: T0)
    session = quiz.Session(quiz.lesson_questions(lesson), store)
    prompts = [q for q in session.questions if q.is_prompt]
    items = [q for q in session.questions if not q.is_prompt]
    assert len(prompts) == 3 and [q.question.number for q in prompts] == [1, 2, 3]
    for question in prompts:
        session.rate_prompt(question, Rating.Good, "blocking waits on the database")
    answers = correct_answers(lesson)
    for index, question in enumerate(items):
        session.answer_item(question, answers[question.question.id] if index else 999)
    assert session.graded == len(lesson.items)
    assert session.correct == len(lesson.items) - 1
    missed = session.missed()
    assert [q.question.id for q in missed] == [lesson.items[0].id]
    assert session.retry_item(missed[0], answers[lesson.items[0].id]).correct
    assert session.correct == len(lesson.items) - 1            # a second try never changes the score
    assert session.finish(lesson, 0.7) is True
    status = Progress.load().lesson_status(lesson, T0)
    assert status.studied == status.total and status.state == "done"
    assert status.last_score == pytest.approx((len(lesson.items) - 1) / len(lesson.items), abs=1e-4)
    view = store.view(lesson.id, lesson.items[0])
    assert view.last_rating == "Again"


def test_session_without_record_leaves_progress_alone(lesson):
    session = quiz.Session(quiz.lesson_questions(lesson), Progress.load(), record=False)
    session.answer_item(session.questions[3], "20")
    assert not progresslib.progress_path().exists()


# --- the answers-file mode --------------------------------------------------------------------

def write_answers(tmp_path, answers: dict, name: str = "answers.json"):
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(answers))
    else:
        lines = []
        for key, value in answers.items():
            lines.append(f"{key} = {json.dumps(value)}")
        path.write_text("\n".join(lines) + "\n")
    return path


def test_answers_file_all_correct_json(tmp_path, lesson):
    path = write_answers(tmp_path, correct_answers(lesson))
    result = runner.invoke(app, ["quiz", "003", "--answers", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)                     # stdout holds the JSON and nothing else
    assert document["lesson"] == "003-first-bottleneck"
    assert document["score"] == 1.0 and document["passed"] is True
    assert document["correct"] == document["total"] == len(lesson.items)
    assert {entry["status"] for entry in document["items"]} == {"correct"}
    assert document["unknown_ids"] == [] and document["pass_mark"] == 0.7


def test_answers_file_toml_below_pass_mark_exits_1(tmp_path, lesson):
    answers = correct_answers(lesson)
    ids = [item.id for item in lesson.items]
    for item_id in ids[:5]:
        del answers[item_id]                                 # missing counts as wrong
    answers[ids[5]] = "not a number at all" if lesson.items[5].kind == "numeric" else "zz"
    answers["no-such-item"] = "a"
    answers["prompt-1"] = "my essay"
    path = write_answers(tmp_path, answers, "answers.toml")
    result = runner.invoke(app, ["quiz", "003", "--answers", str(path), "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    statuses = [entry["status"] for entry in document["items"]]
    assert statuses[:5] == ["missing"] * 5 and statuses[5] == "invalid"
    assert document["correct"] == len(lesson.items) - 6
    assert document["passed"] is False
    assert document["unknown_ids"] == ["no-such-item"]
    assert document["prompts_not_graded"] == ["prompt-1"]
    wrong = document["items"][0]
    assert wrong["explanation"] and wrong["expected"]


def test_answers_pass_mark_as_percentage(tmp_path, lesson):
    answers = correct_answers(lesson)
    del answers[lesson.items[0].id]
    path = write_answers(tmp_path, answers)
    assert runner.invoke(app, ["quiz", "003", "--answers", str(path), "--pass-mark", "100"]).exit_code == 1
    assert runner.invoke(app, ["quiz", "003", "--answers", str(path), "--pass-mark", "0.9"]).exit_code == 0
    bad = runner.invoke(app, ["quiz", "003", "--answers", str(path), "--pass-mark", "250"])
    assert bad.exit_code == 2 and "pass-mark" in bad.stderr


def test_answers_human_output_and_warnings(tmp_path, lesson):
    answers = correct_answers(lesson)
    answers["blocking-rps"] = 50
    answers["typo-id"] = 1
    path = write_answers(tmp_path, answers)
    result = runner.invoke(app, ["quiz", "bottleneck", "--answers", str(path)])
    assert result.exit_code == 0, result.output
    assert "blocking-rps" in result.stdout and "wrong" in result.stdout
    assert f"Score: {len(lesson.items) - 1}/{len(lesson.items)} correct" in result.stdout
    assert "typo-id" in result.stderr


def test_answers_mode_records_progress_unless_no_record(tmp_path, lesson):
    path = write_answers(tmp_path, {"blocking-rps": 20, "parallel-abc": 80})
    runner.invoke(app, ["quiz", "003", "--answers", str(path), "--no-record"])
    assert not progresslib.progress_path().exists()
    runner.invoke(app, ["quiz", "003", "--answers", str(path)])
    store = Progress.load()
    assert store.view(lesson.id, lesson.question("blocking-rps")).last_rating == "Good"
    assert store.view(lesson.id, lesson.question("parallel-abc")).last_rating == "Again"
    assert store.view(lesson.id, lesson.question("littles-law")).status == "new"   # missing: not scheduled
    assert store.lesson_record(lesson.id)["mode"] == "answers"


def test_answers_from_stdin(lesson):
    result = runner.invoke(app, ["quiz", "003", "--answers", "-", "--json", "--no-record"],
                           input=json.dumps(correct_answers(lesson)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["score"] == 1.0


def test_answers_file_problems_are_one_line(tmp_path):
    missing = runner.invoke(app, ["quiz", "003", "--answers", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no answers file" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    result = runner.invoke(app, ["quiz", "003", "--answers", str(broken)])
    assert result.exit_code == 2 and "invalid JSON" in result.stderr
    assert "Traceback" not in result.output
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert "must map item ids" in runner.invoke(app, ["quiz", "003", "--answers", str(listed)]).stderr
    no_lesson = runner.invoke(app, ["quiz", "--answers", str(listed)])
    assert no_lesson.exit_code == 2 and "needs the lesson" in no_lesson.stderr


def test_answers_wrapped_in_an_answers_table(tmp_path, lesson):
    path = tmp_path / "a.toml"
    path.write_text("[answers]\nblocking-rps = 20\n")
    document = json.loads(runner.invoke(app, ["quiz", "003", "--answers", str(path), "--json",
                                              "--no-record"]).stdout)
    assert document["correct"] == 1


# --- without a terminal ----------------------------------------------------------------------

def test_quiz_without_a_terminal_says_how_to_run_it():
    result = runner.invoke(app, ["quiz", "003"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "labctl quiz 003 --answers FILE" in lines[0]


def test_review_without_a_terminal_is_refused_too():
    result = runner.invoke(app, ["quiz", "--review"])
    assert result.exit_code == 2 and "--answers" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["quiz", "003", "--json"], "--json goes with --answers FILE"),
    (["quiz", "--review", "--reset"], "--review, --answers and --reset do not go together"),
    (["quiz", "003", "--review", "--answers", "-"], "--review, --answers and --reset do not go together"),
])
def test_option_conflicts(args, message):
    """Each conflict is refused for what it is (exit 2, its own message), before anything else
    (a missing terminal, an unreadable file) could refuse it for another reason."""
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
