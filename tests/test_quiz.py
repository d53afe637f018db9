"""Quiz logic: parsing and grading, shuffling, key-point marking, sessions and resuming, and the
answers-file mode. Everything runs on the fixture course in tests/assets/lessons/course, so these
tests check the engine whatever the shipped lessons say."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fsrs import Rating
from typer.testing import CliRunner

from labctl.cli import app
from labctl.learning import lessons, quiz
from labctl.learning import progress as progresslib
from labctl.learning.progress import Progress
from labctl.learning.sittings import Sittings

runner = CliRunner()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COURSE = Path(__file__).parent / "assets" / "lessons" / "course"


@pytest.fixture(autouse=True)
def course(monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(COURSE))


@pytest.fixture(scope="module")
def lesson() -> lessons.Lesson:
    return lessons.load_lesson(COURSE / "000-sample.md")


def correct_answers(lesson: lessons.Lesson) -> dict:
    """Right answers as an answers file gives them: choice letters in file order."""
    answers = {}
    for item in lesson.items:
        if item.kind == "choice":
            answers[item.id] = lessons.LETTERS[item.answer]
        else:
            answers[item.id] = item.answer
    return answers


def session_answer(session: quiz.Session, question: quiz.Question, right: bool = True) -> str:
    """The letter (as shown in this sitting) or value a learner would type."""
    item = question.item
    if item.kind == "choice":
        order = session.order(question)
        assert order is not None
        target = item.answer if right else next(i for i in order if i != item.answer)
        return lessons.LETTERS[order.index(target)]
    if item.kind == "true_false":
        return "t" if item.answer == right else "f"
    return f"{item.answer if right else item.answer + 10 * item.tolerance + 100:g}"


# --- parsing and grading ---------------------------------------------------------------------

def test_choice_answers_in_file_order(lesson):
    item = lesson.question("technique")                      # answer b) The waits overlap…
    assert quiz.grade(item, "b").correct
    assert quiz.grade(item, " B ").correct
    assert quiz.grade(item, "b)").correct and quiz.grade(item, "(b)").correct
    assert quiz.grade(item, "the waits overlap, so only the slowest counts").correct   # its text
    assert not quiz.grade(item, "a").correct
    assert quiz.grade(item, "a").given == "a) The calls each get a larger share of CPU time"
    for bad in ("e", "zz", "", 1, True):
        with pytest.raises(quiz.InvalidAnswer):
            quiz.grade(item, bad)


def test_true_false_answers(lesson):
    item = lesson.question("async-faster")                   # false
    for spelling in (False, "f", "false", "No", "n", "False.", "no!"):
        assert quiz.grade(item, spelling).correct
    for spelling in (True, "t", "TRUE", "yes", "True."):
        assert not quiz.grade(item, spelling).correct
    with pytest.raises(quiz.InvalidAnswer):
        quiz.grade(item, "maybe")


def test_numeric_answers_with_tolerance(lesson):
    item = lesson.question("blocking-rps")                   # 20 ± 0.5 req/s
    for good in (20, 20.5, 19.5, "20", "20 req/s", " 20.0 ", "2e1", "20/s", "~20", "20 rps"):
        assert quiz.grade(item, good).correct, good
    for wrong in (21, "19.4", "50", 0, "2k req/s"):
        assert not quiz.grade(item, wrong).correct, wrong
    for unreadable in ("twenty", "1000/50", "20 or 21", "", True, "- 5", "20 ms"):
        with pytest.raises(quiz.InvalidAnswer):
            quiz.grade(item, unreadable)
    assert quiz.grade(lesson.question("in-flight"), "1,000").correct


def test_exact_numeric_tolerance_zero(lesson):
    item = lesson.question("sequential")                     # 80 ms, tolerance 0
    assert quiz.grade(item, 80).correct and quiz.grade(item, "0.08 s").correct
    assert not quiz.grade(item, 80.01).correct


def test_tolerance_is_inclusive_despite_floating_point():
    item = lessons.Item(id="x", kind="numeric", question="?", explanation="!", answer=0.812,
                        tolerance=0.01)
    assert quiz.grade(item, 0.822).correct and quiz.grade(item, 0.802).correct
    assert not quiz.grade(item, 0.823).correct


# --- shuffling --------------------------------------------------------------------------------

def test_every_order_of_the_choices_is_reachable_and_graded_right(lesson):
    question = next(q for q in quiz.lesson_questions(lesson) if q.question.id == "event-loop")
    item = question.question
    seen = set()
    for seed in range(400):
        session = quiz.Session([question], None, record=False, rng=random.Random(seed))
        order = session.order(question)
        seen.add(order)
        shown_letter = lessons.LETTERS[order.index(item.answer)]
        graded = session.answer_item(question, shown_letter)
        assert graded.correct, (seed, order)
        assert graded.given == f"{shown_letter}) {item.choices[item.answer]}"
    assert seen == set(itertools.permutations(range(len(item.choices))))
    # the same seed gives the same order: what LABCTL_QUIZ_SEED relies on
    orders = [quiz.Session([question], None, rng=random.Random(7)).order(question) for _ in range(2)]
    assert orders[0] == orders[1]


def test_an_answers_file_letter_is_the_file_letter_whatever_the_sitting_shows(lesson, tmp_path):
    path = write_answers(tmp_path, correct_answers(lesson))
    for seed in ("1", "2", "3"):
        result = runner.invoke(app, ["quiz", "000", "--answers", str(path), "--json", "--no-record"],
                               env={"LABCTL_QUIZ_SEED": seed})
        assert json.loads(result.stdout)["score"] == 1.0


def test_the_seed_must_be_a_number(monkeypatch):
    monkeypatch.setenv("LABCTL_QUIZ_SEED", "seven")
    with pytest.raises(quiz.LabctlError, match="LABCTL_QUIZ_SEED"):
        quiz.make_rng()


# --- key points ------------------------------------------------------------------------------------

def test_stemming_meets_common_forms():
    assert quiz.stem("blocking") == quiz.stem("blocks") == quiz.stem("blocked") == quiz.stem("block")
    assert quiz.stem("caches") == quiz.stem("cache") == quiz.stem("caching")
    assert quiz.keyword_in("event loop", quiz.stems("The Event-Loops froze"))
    assert not quiz.keyword_in("event loop", quiz.stems("an event happened in the loop"))


def test_touched_marks_key_points_by_whole_keywords(lesson):
    third = lesson.prompts[2]
    answer = "Send them concurrently with asyncio.gather, and memoise the catalogue in a cache."
    assert quiz.touched(third, answer) == [True, True]
    assert quiz.matched_keywords(third, answer) == [["concurrently", "gather"], ["cache", "memoise"]]
    assert quiz.touched(third, "") == [False, False]
    # whole words only: "cache" is no part of "cachet"; "gather" no part of "gatherings"
    assert quiz.touched(third, "a cachet, at gatherings") == [False, False]


def test_pasting_the_prompt_back_touches_nothing(lesson):
    for prompt in lesson.prompts:
        assert quiz.touched(prompt, prompt.text) == [False] * len(prompt.key_points)
    prompt = lessons.Prompt(id="p", text="Why does Go use a goroutine per connection?", hint="h", number=1,
                            key_points=(lessons.KeyPoint("It is cheap.", ("goroutine", "cheap")),))
    assert quiz.live_keywords(prompt, prompt.key_points[0].keywords) == ["cheap"]
    assert quiz.touched(prompt, "goroutine, goroutine") == [False]
    # one live keyword is never enough to mark a point (lessons check refuses such a point)
    assert quiz.touched(prompt, "they are cheap") == [False]
    assert quiz.matched_keywords(prompt, "they are cheap") == [["cheap"]]


def test_a_key_point_is_marked_only_when_two_keywords_match(lesson):
    """One keyword each gave a plainly wrong answer every point (issue 24); two are needed now."""
    third = lesson.prompts[2]
    one_each = "It is slow because nothing is concurrent and the cache is cold."
    assert quiz.matched_keywords(third, one_each) == [["concurrently"], ["cache"]]
    assert quiz.touched(third, one_each) == [False, False]
    both = "Run them concurrently with gather; memoise the result in a cache."
    assert quiz.touched(third, both) == [True, True]


def test_the_mark_says_which_words_matched():
    from labctl.learning import quiz_ui

    marked = quiz_ui.key_point_line("Cache it.", ["cache", "memoise"]).plain
    assert marked.startswith("[x] Cache it.") and "matched: 'cache', 'memoise'" in marked
    unmarked = quiz_ui.key_point_line("Cache it.", ["cache"]).plain
    assert unmarked.startswith("[ ] Cache it.") and "only 'cache' matched" in unmarked
    assert quiz_ui.key_point_line("Cache it.", []).plain == "[ ] Cache it."


# --- sessions ------------------------------------------------------------------------------------

def test_session_scores_first_answers_and_records_them(lesson):
    store = Progress.load(scheduler=progresslib.make_scheduler(fuzz=False), clock=lambda: T0)
    session = quiz.Session(quiz.lesson_questions(lesson), store, rng=random.Random(3))
    prompts = [q for q in session.questions if q.is_prompt]
    items = [q for q in session.questions if not q.is_prompt]
    assert len(prompts) == 3 and [q.question.number for q in prompts] == [1, 2, 3]
    for question in prompts:
        session.rate_prompt(question, Rating.Good, "it is blocked, waiting on the database")
    for index, question in enumerate(items):
        session.answer_item(question, session_answer(session, question, right=bool(index)))
    assert session.graded == len(lesson.items)
    assert session.correct == len(lesson.items) - 1
    missed = session.missed()
    assert [q.question.id for q in missed] == [lesson.items[0].id]
    assert session.retry_item(missed[0], session_answer(session, missed[0])).correct
    assert session.correct == len(lesson.items) - 1            # a second try never changes the score
    assert session.finish(lesson, 0.7) is True
    status = Progress.load().lesson_status(lesson, T0)
    assert status.studied == status.total and status.state == "done"
    assert status.last_score == pytest.approx((len(lesson.items) - 1) / len(lesson.items), abs=1e-4)
    assert store.view(lesson.id, lesson.items[0]).last_rating == "Again"


def test_session_without_record_leaves_progress_alone(lesson):
    session = quiz.Session(quiz.lesson_questions(lesson), Progress.load(), record=False)
    session.answer_item(session.questions[3], "20")
    assert not progresslib.progress_path().exists()


def test_giving_up_counts_as_wrong_and_is_scheduled_again(lesson):
    store = Progress.load(clock=lambda: T0)
    question = quiz.lesson_questions(lesson)[3]
    session = quiz.Session([question], store)
    assert not session.give_up(question).correct
    assert session.graded == 1 and session.correct == 0
    assert store.view(lesson.id, question.question).last_rating == "Again"


# --- prompts: skipped is not studied; Again is not done ------------------------------------------

def all_right(session: quiz.Session, rating=Rating.Good, skip: int | None = None) -> None:
    for index, question in enumerate(session.questions):
        if question.is_prompt:
            if index == skip:
                session.skip_prompt(question)
            else:
                session.rate_prompt(question, rating if index == 0 else Rating.Good, "blocked idle")
        else:
            session.answer_item(question, session_answer(session, question))


def test_a_skipped_prompt_is_not_studied_so_the_lesson_is_not_done(lesson):
    store = Progress.load(clock=lambda: T0)
    session = quiz.Session(quiz.lesson_questions(lesson), store)
    all_right(session, skip=1)
    assert session.finish(lesson, 0.7)
    assert store.view(lesson.id, lesson.prompts[1]).status == "new"
    status = Progress.load().lesson_status(lesson, T0)
    assert status.state == "in progress" and status.studied == status.total - 1


def test_a_lesson_is_not_done_while_a_prompt_was_last_rated_again(lesson):
    store = Progress.load(clock=lambda: T0)
    session = quiz.Session(quiz.lesson_questions(lesson), store)
    all_right(session, rating=Rating.Again)
    assert session.finish(lesson, 0.7)                        # the items passed
    status = Progress.load().lesson_status(lesson, T0)
    assert status.studied == status.total and status.state == "in progress"
    again = quiz.Session(quiz.lesson_questions(lesson)[:1], store)
    again.rate_prompt(again.questions[0], Rating.Good, "blocked")
    assert Progress.load().lesson_status(lesson, T0).state == "done"


# --- resuming an interrupted sitting ----------------------------------------------------------

def test_an_interrupted_sitting_resumes_where_it_stopped(lesson):
    store = Progress.load(clock=lambda: T0)
    first = quiz.Session(quiz.lesson_questions(lesson), store, sittings=Sittings())
    questions = first.questions
    first.rate_prompt(questions[0], Rating.Good, "blocked")
    first.skip_prompt(questions[1])
    first.rate_prompt(questions[2], Rating.Hard, "gather")
    first.answer_item(questions[3], session_answer(first, questions[3]))
    first.answer_item(questions[4], session_answer(first, questions[4], right=False))
    # …the learner pressed Ctrl-C here. The next `labctl quiz` picks up at question 6:
    second = quiz.Session(quiz.lesson_questions(lesson), Progress.load(clock=lambda: T0), sittings=Sittings())
    assert second.resume() == 5
    assert [q.question.id for q in second.remaining()] == [item.id for item in lesson.items[2:]]
    assert second.graded == 2 and second.correct == 1
    assert [r.skipped for r in second.prompt_results] == [False, True, False]
    for question in second.remaining():
        second.answer_item(question, session_answer(second, question))
    assert second.graded == len(lesson.items) and second.correct == len(lesson.items) - 1
    assert second.finish(lesson, 0.7)
    assert Sittings().answers(lesson.id) == {}                 # over: nothing left to resume
    third = quiz.Session(quiz.lesson_questions(lesson), store, sittings=Sittings())
    assert third.resume() == 0 and len(third.remaining()) == len(third.questions)


def test_restart_starts_over_and_an_edited_question_is_asked_again(lesson):
    import dataclasses

    store = Progress.load(clock=lambda: T0)
    first = quiz.Session(quiz.lesson_questions(lesson), store, sittings=Sittings())
    for question in first.questions[:5]:
        if question.is_prompt:
            first.rate_prompt(question, Rating.Good, "blocked")
        else:
            first.answer_item(question, session_answer(first, question))
    edited_item = dataclasses.replace(lesson.items[0], question="A reworded question?")
    edited = dataclasses.replace(lesson, items=(edited_item, *lesson.items[1:]))
    again = quiz.Session(quiz.lesson_questions(edited), store, sittings=Sittings())
    assert again.resume() == 4 and again.remaining()[0].question.id == lesson.items[0].id
    fresh = quiz.Session(quiz.lesson_questions(lesson), store, sittings=Sittings())
    fresh.restart()
    assert fresh.resume() == 0 and fresh.graded == 0


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
    result = runner.invoke(app, ["quiz", "000", "--answers", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)                     # stdout holds the JSON and nothing else
    assert document["lesson"] == "000-sample"
    assert document["score"] == 1.0 and document["passed"] is True
    assert document["correct"] == document["total"] == len(lesson.items)
    assert {entry["status"] for entry in document["items"]} == {"correct"}
    assert document["unknown_ids"] == [] and document["pass_mark"] == 0.7


def test_answers_file_toml_below_pass_mark_exits_1(tmp_path, lesson):
    answers = correct_answers(lesson)
    ids = [item.id for item in lesson.items]
    for item_id in ids[:4]:
        del answers[item_id]                                 # missing counts as wrong
    answers[ids[4]] = "20 ms"                                # a time for a count: invalid, never relabelled
    answers[ids[5]] = "zz"
    answers["no-such-item"] = "a"
    answers["why-io"] = "my essay"
    path = write_answers(tmp_path, answers, "answers.toml")
    result = runner.invoke(app, ["quiz", "000", "--answers", str(path), "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    statuses = [entry["status"] for entry in document["items"]]
    assert statuses[:6] == ["missing"] * 4 + ["invalid"] * 2
    assert "give a plain number" in document["items"][4]["message"]
    assert document["correct"] == len(lesson.items) - 6
    assert document["passed"] is False
    assert document["unknown_ids"] == ["no-such-item"]
    assert document["prompts_not_graded"] == ["why-io"]
    wrong = document["items"][0]
    assert wrong["explanation"] and wrong["expected"]


def test_answers_pass_mark_as_percentage(tmp_path, lesson):
    answers = correct_answers(lesson)
    del answers[lesson.items[0].id]
    path = write_answers(tmp_path, answers)
    assert runner.invoke(app, ["quiz", "000", "--answers", str(path), "--pass-mark", "100"]).exit_code == 1
    assert runner.invoke(app, ["quiz", "000", "--answers", str(path), "--pass-mark", "0.9"]).exit_code == 0
    bad = runner.invoke(app, ["quiz", "000", "--answers", str(path), "--pass-mark", "250"])
    assert bad.exit_code == 2 and "pass-mark" in bad.stderr


def test_answers_human_output_and_warnings(tmp_path, lesson):
    answers = correct_answers(lesson)
    answers["blocking-rps"] = 50
    answers["typo-id"] = 1
    path = write_answers(tmp_path, answers)
    result = runner.invoke(app, ["quiz", "sample", "--answers", str(path)])
    assert result.exit_code == 0, result.output
    assert "blocking-rps" in result.stdout and "wrong" in result.stdout
    assert f"Score: {len(lesson.items) - 1}/{len(lesson.items)} correct" in result.stdout
    assert "typo-id" in result.stderr


def test_answers_mode_records_progress_unless_no_record(tmp_path, lesson):
    path = write_answers(tmp_path, {"blocking-rps": 20, "sequential": 81})
    runner.invoke(app, ["quiz", "000", "--answers", str(path), "--no-record"])
    assert not progresslib.progress_path().exists()
    runner.invoke(app, ["quiz", "000", "--answers", str(path)])
    store = Progress.load()
    assert store.view(lesson.id, lesson.question("blocking-rps")).last_rating == "Good"
    assert store.view(lesson.id, lesson.question("sequential")).last_rating == "Again"
    assert store.view(lesson.id, lesson.question("in-flight")).status == "new"   # missing: not scheduled
    assert store.lesson_record(lesson.id)["mode"] == "answers"


def test_answers_from_stdin(lesson):
    result = runner.invoke(app, ["quiz", "000", "--answers", "-", "--json", "--no-record"],
                           input=json.dumps(correct_answers(lesson)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["score"] == 1.0


def test_answers_file_problems_are_one_line(tmp_path):
    missing = runner.invoke(app, ["quiz", "000", "--answers", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no answers file" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    result = runner.invoke(app, ["quiz", "000", "--answers", str(broken)])
    assert result.exit_code == 2 and "invalid JSON" in result.stderr
    assert "Traceback" not in result.output
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert "must map item ids" in runner.invoke(app, ["quiz", "000", "--answers", str(listed)]).stderr
    no_lesson = runner.invoke(app, ["quiz", "--answers", str(listed)])
    assert no_lesson.exit_code == 2 and "needs the lesson" in no_lesson.stderr


def test_answers_wrapped_in_an_answers_table(tmp_path, lesson):
    path = tmp_path / "a.toml"
    path.write_text("[answers]\nblocking-rps = 20\n")
    document = json.loads(runner.invoke(app, ["quiz", "000", "--answers", str(path), "--json",
                                              "--no-record"]).stdout)
    assert document["correct"] == 1


# --- without a terminal ----------------------------------------------------------------------

def test_quiz_without_a_terminal_says_how_to_run_it():
    result = runner.invoke(app, ["quiz", "000"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "labctl quiz 000 --answers FILE" in lines[0]


def test_review_without_a_terminal_is_refused_too():
    result = runner.invoke(app, ["quiz", "--review"])
    assert result.exit_code == 2 and "--answers" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["quiz", "000", "--json"], ["--json goes with --answers FILE"]),
    (["quiz", "--review", "--reset"], ["do not go together", "--review", "--reset"]),
    (["quiz", "000", "--review", "--answers", "-"], ["do not go together", "--review", "--answers"]),
])
def test_option_conflicts(args, message):
    """Each conflict is refused for what it is (exit 2, its own message naming the options),
    before anything else (a missing terminal, an unreadable file) could refuse it otherwise."""
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2, result.output
    for part in message:
        assert part in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_answers_file_quantities_are_converted_and_echoed_in_both_units(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('sequential = "0.08 s"\ncurl-time = "0.812 ms"\nbuffer = "100 ms"\n'
                    'blocking-rps = "2k req/s"\ntechnique = "The waits overlap, so only the slowest counts"\n')
    document = json.loads(runner.invoke(app, ["quiz", "000", "--answers", str(path), "--json",
                                              "--no-record"]).stdout)
    items = {entry["id"]: entry for entry in document["items"]}
    assert items["sequential"]["status"] == "correct"
    assert items["sequential"]["understood_as"] == "0.08 s = 80 ms"
    assert items["curl-time"]["understood_as"] == "0.812 ms = 812 µs" and items["curl-time"]["correct"]
    assert items["buffer"]["status"] == "invalid" and "give a size" in items["buffer"]["message"]
    assert items["blocking-rps"]["status"] == "wrong" and items["blocking-rps"]["understood_as"] == "2000 req/s"
    assert items["technique"]["status"] == "correct"                       # a choice named by its text
    assert items["technique"]["understood_as"] == "b) The waits overlap, so only the slowest counts"


def test_a_damaged_sitting_file_is_ignored_not_fatal(lesson):
    from labctl.learning.sittings import sitting_path

    sitting_path().parent.mkdir(parents=True, exist_ok=True)
    sitting_path().write_text("{not json")
    session = quiz.Session(quiz.lesson_questions(lesson), Progress.load(clock=lambda: T0), sittings=Sittings())
    assert session.resume() == 0
    session.answer_item(session.questions[3], "20")
    assert list(Sittings().answers(lesson.id)) == [lesson.items[0].id]
