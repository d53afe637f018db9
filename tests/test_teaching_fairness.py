"""Issue 24: lessons that state their versions, grading that is fair at the edges, and feedback
in every mode (the answers-file table, `show --prompts --check`, `show --code`, `next --skip`)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.learning import lesson_rules, lessons, quiz
from labctl.learning.progress import Progress
from labctl.runtime import pins

runner = CliRunner()
ASSETS = Path(__file__).parent / "assets" / "lessons"
VALID = ASSETS / "valid" / "001-minimal.md"


def numeric(unit: str, answer: float, tolerance: float = 0.0) -> lessons.Item:
    return lessons.Item(id="x", kind="numeric", question="How much?", explanation="Because.",
                        answer=answer, tolerance=tolerance, unit=unit)


# --- versions ------------------------------------------------------------------------------------

def test_the_pins_are_read_from_the_servers_files():
    pinned = pins.pinned_versions()
    assert pinned["go"].startswith("1.") and pinned["node"].isdigit()
    for name in ("python", "rust", "uvicorn", "h11", "fastapi", "axum", "hyper", "tokio", "express"):
        assert pinned.get(name), name


@pytest.mark.parametrize("stated, pinned, ok", [
    ("1.26", "1.26.0", True), ("22", "22", True), ("22.12", "22", True), ("0.54", "0.54.0", True),
    ("0.53", "0.54.0", False), ("20", "22", False), ("3.11", "3.12", False), ("1.2", "1.26.0", False),
])
def test_a_stated_version_agrees_with_a_pin_on_their_common_components(stated, pinned, ok):
    assert pins.agrees(stated, pinned) is ok


def test_the_version_rule_fails_a_lesson_without_versions_or_with_another_version():
    valid = lessons.load_lesson(VALID)
    assert lesson_rules.lesson_versions(valid) == []
    missing = lesson_rules.lesson_versions(replace(valid, versions=()))
    assert [f.where for f in missing] == ["versions"] and "missing" in missing[0].message
    node = pins.pinned_versions()["node"]
    older = lesson_rules.lesson_versions(replace(valid, versions=(("node", "20"),)))
    assert [f.where for f in older] == ["versions.node"]
    assert f"'20' differs from the servers' pin {node}" in older[0].message
    typo = lesson_rules.lesson_versions(replace(valid, versions=(("nodejs", "22"),)))
    assert typo and "not a component" in typo[0].message
    unpinned = lesson_rules.lesson_versions(replace(valid, versions=(("nginx", "1.27"),)))
    assert unpinned == []


def test_lessons_check_names_the_versions_fault(tmp_path):
    text = VALID.read_text().replace('versions = { go = "1.26", node = "22" }',
                                     'versions = { go = "1.21", node = "22" }')
    (tmp_path / "001-minimal.md").write_text(text)
    result = runner.invoke(app, ["lessons", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "versions.go: '1.21' differs from the servers' pin" in result.stdout


def test_show_prompts_and_quiz_print_the_versions(monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(ASSETS / "valid"))
    shown = runner.invoke(app, ["show", "1", "--prompts"])
    assert shown.exit_code == 0 and "Answer for these versions: Go 1.26 · Node 22" in shown.stdout
    page = runner.invoke(app, ["show", "1"])
    assert "Holds for: Go 1.26 · Node 22" in page.stdout


# --- the choice rules ----------------------------------------------------------------------------

def test_the_correct_choice_may_not_be_the_shortest_in_more_than_half():
    valid = lessons.load_lesson(VALID)
    choice = next(item for item in valid.items if item.kind == "choice")
    short = replace(choice, choices=("Yes", "A much longer distractor", "Another long distractor"), answer=0)
    long_ = replace(choice, choices=("A fairly long right answer", "Short", "Brief"), answer=0)
    two_of_three = replace(valid, items=(replace(short, id="a"), replace(short, id="b"), replace(long_, id="c")))
    findings = lesson_rules.shortest_choice(two_of_three)
    assert len(findings) == 1 and "the correct choice is the shortest in 2 of 3" in findings[0].message
    half = replace(valid, items=(replace(short, id="a"), replace(long_, id="c")))
    assert lesson_rules.shortest_choice(half) == []


def test_at_least_a_third_of_the_items_are_transfer_items():
    valid = lessons.load_lesson(VALID)
    assert lesson_rules.transfer_items(valid) == []
    none = replace(valid, items=tuple(replace(item, transfer=False) for item in valid.items))
    assert "only 0 of" in lesson_rules.transfer_items(none)[0].message
    third = replace(valid, items=tuple(replace(item, transfer=index < 2) for index, item in enumerate(valid.items)))
    assert len(valid.items) == 6 and lesson_rules.transfer_items(third) == []


def test_a_key_point_needs_two_live_keywords():
    valid = lessons.load_lesson(VALID)
    prompt = valid.prompts[0]
    point = lessons.KeyPoint("Probes call it.", ("probe",))
    lesson = replace(valid, prompts=(replace(prompt, key_points=(point,)), *valid.prompts[1:]))
    findings = [f for f in lesson_rules.prompt_keywords(lesson) if f.severity == "fault"]
    assert findings and "only 1 keyword" in findings[0].message


# --- grading at the edges: (item, answer) → old verdict, new verdict ---------------------------------

# The old verdicts, as labctl gave them before issue 24, are in the comments.
@pytest.mark.parametrize("unit, answer, tolerance, given, verdict", [
    ("%", 99.94, 0.05, "0.9994", "other-scale"),       # was: wrong
    ("%", 99.94, 0.05, "99.9", "correct"),
    ("%", 99.94, 0.05, "100", "wrong"),                # was: correct (tolerance 0.2 around 99.9)
    ("%", 99.94, 0.05, "0.9994x", "correct"),
    ("s", 5, 0.5, "5000", "other-scale"),              # was: wrong
    ("s", 5, 0.5, "5000 ms", "correct"),
    ("s", 5, 0.5, "500", "wrong"),                     # fits no scale: simply wrong
    ("ms", 50, 2, "0.05", "other-scale"),              # was: wrong
    ("ms", 50, 2, "50.4", "correct"),                  # was: wrong (tolerance 0)
    ("ms", 50, 2, "53", "wrong"),
    ("req/s", 20, 0, "20 requests/second", "correct"),  # was: invalid (unreadable)
    ("req/s", 20, 0, "20 req/sec", "correct"),
    ("req/s", 20, 0, "1200 req/min", "correct"),       # was: invalid
    ("req/s", 20, 0, "1200 requests per minute", "correct"),
    ("req/s", 20, 0, "1200 rpm", "correct"),
    ("req/s", 20, 0, "20 req/min", "wrong"),
    ("req/s", 20, 0, "1200", "other-scale"),           # was: wrong
    ("", 431, 0, "431 Request Header Fields Too Large", "correct"),   # was: invalid
    ("", 431, 0, "HTTP 431", "correct"),               # was: invalid
    ("", 431, 0, "HTTP/1.1 431", "correct"),
    ("", 431, 0, "431 (Request Header Fields Too Large).", "correct"),
    ("", 431, 0, "413 Content Too Large", "wrong"),
    ("", 431, 0, "413 Payload Too Large", "wrong"),
    ("", 431, 0, "431 Not Found", "invalid"),          # a reason phrase of another code
    ("", 429, 0, "HTTP 429 Too Many Requests", "correct"),
    ("", 431, 0, "400", "wrong"),
    ("", 20, 0, "HTTP 20", "invalid"),                 # not a status item: "HTTP" is no unit
])
def test_grading_cases_both_ways(unit, answer, tolerance, given, verdict):
    item = numeric(unit, answer, tolerance)
    try:
        result = quiz.grade(item, given)
    except quiz.OtherScale:
        outcome = "other-scale"
    except quiz.InvalidAnswer:
        outcome = "invalid"
    else:
        outcome = "correct" if result.correct else "wrong"
    assert outcome == verdict, given


def test_a_bare_number_from_a_file_in_another_scale_is_invalid_and_says_so():
    lesson = lessons.load_lesson(VALID)
    item = replace(numeric("s", 5, 0.5), id="timeout")
    graded = quiz.grade_file(replace(lesson, items=(item,)), {"timeout": 5000}, 0.7)
    result = graded.results[0]
    assert result.status == "invalid" and not result.correct
    assert "asked in another scale" in (result.message or "") and "5000 ms" in (result.message or "")


def test_the_interactive_quiz_asks_again_for_a_number_in_another_scale():
    """OtherScale is an InvalidAnswer, which the quiz asks again instead of grading."""
    assert issubclass(quiz.OtherScale, quiz.InvalidAnswer)


# --- feedback ------------------------------------------------------------------------------------

def test_the_answers_table_explains_each_item_not_right(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(ASSETS / "valid"))
    lesson = lessons.load_lesson(VALID)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({}))
    result = runner.invoke(app, ["quiz", "1", "--answers", str(path), "--no-record"])
    assert result.exit_code == 1
    assert "Why, for each one not right:" in result.stdout
    first = " ".join(lesson.items[0].explanation.split())[:40]
    assert first in " ".join(result.stdout.split())


def test_prompts_check_gives_a_rubric_per_prompt_without_a_network_call(monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(ASSETS / "valid"))
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("labctl show --prompts --check opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    lesson = lessons.load_lesson(VALID)
    result = runner.invoke(app, ["show", "1", "--prompts", "--check"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.count("My answer:\n<paste your answer here>") == 3
    assert text.count("ask me one follow-up question") == 3
    assert "Go 1.26 · Node 22" in text
    for prompt in lesson.prompts:
        for point in prompt.key_points:
            assert f"- {point.text}" in text
    refused = runner.invoke(app, ["show", "1", "--check"])
    assert refused.exit_code == 2 and "--check goes with --prompts" in refused.output


def test_show_code_withholds_an_exercise_solution_until_passed_or_last_hint(monkeypatch, tmp_path):
    from labctl.learning import exercises

    store = Progress.load()
    name = "rust-graceful-shutdown"
    withheld = exercises.spoilers([name], store)
    main_rs = (exercises.find(name).base_dir / "src" / "main.rs").resolve()
    assert withheld == {main_rs: name}
    # python-head's starter is the shipped main.py itself: the shipped file holds no answer
    assert exercises.spoilers(["python-head"], store) == {}
    result = runner.invoke(app, ["show", "7", "--code"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"not shown: it holds the answer to exercise {name}" in result.stdout
    assert f"labctl exercise solution {name} --force" in result.stdout
    assert "with_graceful_shutdown(shutdown_signal())" not in result.stdout
    store.update_exercise(name, hints_seen=len(exercises.find(name).hints))
    assert exercises.spoilers([name], Progress.load()) == {}
    store.update_exercise("node-graceful-shutdown", passed=True)
    assert exercises.spoilers(["node-graceful-shutdown"], Progress.load()) == {}


def test_next_skip_passes_over_an_exercise_and_lists_it_as_skipped(monkeypatch):
    store = Progress.load()
    assert store.exercise_state("go-keep-alive") == "not started"
    store.update_exercise("go-keep-alive", skipped=True)
    assert Progress.load().exercise_state("go-keep-alive") == "skipped"
    store.update_exercise("go-keep-alive", started=True)
    assert Progress.load().exercise_state("go-keep-alive") == "started"
    refused = runner.invoke(app, ["next", "--skip"])
    assert refused.exit_code == 2 and "there is no exercise to skip" in refused.output


def test_next_offers_the_exercise_after_a_skipped_one_and_the_table_counts_skips():
    from labctl.commands import learn
    from labctl.learning.progress import LessonStatus
    from labctl.results.learning_render import exercises_cell

    lesson = lessons.load_lesson(Path(__file__).parent.parent / "lessons" / "007-graceful-shutdown.md")
    done = {lesson.id: LessonStatus("done", 20, 20, 0, 1.0, None)}
    first, second = lesson.lab.exercises[:2]
    offered = learn._advice([lesson], done, {lesson.id: [(first, "not started"), (second, "not started")]})
    assert offered["action"] == "exercise" and offered["exercise"] == first
    assert "labctl next --skip" in offered["why"]
    after_skip = learn._advice([lesson], done, {lesson.id: [(first, "skipped"), (second, "not started")]})
    assert after_skip["exercise"] == second
    both = learn._advice([lesson], done, {lesson.id: [(first, "skipped"), (second, "skipped")]})
    assert both["action"] != "exercise"
    assert exercises_cell([(first, "skipped"), (second, "passed")]).plain == "1/2 1 skip"


def test_a_lab_names_each_server_whose_runtime_differs_from_its_lesson():
    from labctl.commands.lab_cmd import lesson_version_differences
    from labctl.runtime import versions

    document = {"schema": "labctl.lab.shutdown/1", "runtime": {"servers_ran": {
        "node": versions.record("node", "20.20.2", "test"), "go": versions.record("go", "go1.26.8", "test")}}}
    found = lesson_version_differences(document)
    assert found["lesson"] == "007-graceful-shutdown"
    assert found["differences"] == ["node ran on Node 20.20.2, but the lesson's facts hold for Node 22: its "
                                    "predictions for node may not hold here"]
