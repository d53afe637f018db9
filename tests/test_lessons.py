"""Lesson files: every shipped lesson is valid and sound; broken ones are reported precisely."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl import paths
from labctl.cli import app
from labctl.learning import lessons

ASSETS = Path(__file__).parent / "assets" / "lessons"
runner = CliRunner()

# Every labctl command a lesson may tell a learner to run (lessons must not invent commands).
LABCTL_COMMANDS = {"run", "report", "servers", "logs", "down", "verify", "compare", "load", "results", "doctor",
                   "lessons", "show", "next", "quiz", "lab", "exercise", "exercises"}


@pytest.fixture(scope="module")
def shipped() -> list[lessons.Lesson]:
    loaded, problems = lessons.load_all(paths.lessons_dir())
    assert not problems, [p.one_line() for p in problems]
    return loaded


# --- the shipped lessons ---------------------------------------------------------------------------

def test_the_lessons_are_there_in_order(shipped):
    assert [lesson.id for lesson in shipped] == [
        "000-four-servers", "001-go-nethttp", "002-nethttp-interview", "003-first-bottleneck",
        "004-choosing-a-language", "005-edge-cases", "006-slow-clients",
        "007-graceful-shutdown", "008-past-capacity", "009-reverse-proxy",
        "010-where-the-cpu-goes"]


def test_each_lesson_has_three_prompts_and_at_least_eight_items(shipped):
    for lesson in shipped:
        assert len(lesson.prompts) == 3, lesson.id
        assert len(lesson.items) >= 8, lesson.id
        for prompt in lesson.prompts:
            assert prompt.hint and prompt.key_points
            assert all(point.keywords for point in prompt.key_points)
        kinds = {item.kind for item in lesson.items}
        assert {"choice", "true_false", "numeric"} <= kinds, (lesson.id, kinds)
        assert lesson.body.strip()
        assert lesson.try_it


def test_at_least_110_items_in_all(shipped):
    assert sum(len(lesson.items) for lesson in shipped) >= 110


def test_every_auto_graded_item_has_exactly_one_correct_answer(shipped):
    from labctl.learning import quiz

    for lesson in shipped:
        for item in lesson.items:
            where = f"{lesson.id}/{item.id}"
            assert item.explanation, where
            if item.kind == "choice":
                folded = [" ".join(choice.lower().split()) for choice in item.choices]
                assert len(set(folded)) == len(folded), where
                assert isinstance(item.answer, int) and 0 <= item.answer < len(item.choices), where
                right = [letter for letter in lessons.LETTERS[:len(item.choices)]
                         if quiz.grade(item, letter).correct]
                assert right == [lessons.LETTERS[item.answer]], where
                for choice in item.choices:
                    assert not lessons.AMBIGUOUS_CHOICES.match(choice), where
            elif item.kind == "true_false":
                assert isinstance(item.answer, bool), where
                assert [value for value in (True, False) if quiz.grade(item, value).correct] == [item.answer]
            else:
                assert item.tolerance >= 0, where
                assert quiz.grade(item, item.answer).correct, where
                # One answer, not a range: the tolerance must be small next to the answer.
                assert item.tolerance <= max(abs(item.answer) * 0.1, 0.5), where
                assert not quiz.grade(item, item.answer + 2 * item.tolerance + 1).correct, where


def test_every_shipped_item_says_where_its_fact_can_be_checked(shipped):
    for lesson in shipped:
        for item in lesson.items:
            assert item.source, f"{lesson.id}/{item.id}"
            # a seed is not a source: a doc, an RFC, a framework page or a labctl command is
            assert not re.fullmatch(r"(seed\s*\d+\s*)?Q\d+", item.source, re.IGNORECASE), item.source


def test_the_shipped_lessons_pass_every_check_rule(shipped):
    from labctl.learning import lesson_rules

    faults = [f.one_line() for f in lesson_rules.check(shipped) if f.severity == "fault"]
    assert faults == []


def test_no_shipped_prompt_keyword_is_in_its_prompts_own_text(shipped):
    """A keyword made only of the prompt's own words never counts (pasting the prompt back must touch
    nothing), so it is dead weight: the check only warns, but the shipped lessons carry none."""
    from labctl.learning import lesson_rules

    dead = [finding.one_line() for lesson in shipped for finding in lesson_rules.prompt_keywords(lesson)]
    assert dead == []

def test_the_interview_lesson_covers_all_25_questions(shipped):
    interview = next(lesson for lesson in shipped if lesson.id == "002-nethttp-interview")
    # Each item names a real source and ends it with the interview question it belongs to,
    # "(interview Q4)"; its id starts with the same number ("q4-...").
    tags = [re.search(r"\(interview Q([1-9]|1\d|2[0-5])\)$", item.source or "") for item in interview.items]
    assert all(tags), [item.id for item, tag in zip(interview.items, tags) if not tag]
    assert {int(tag.group(1)) for tag in tags} == set(range(1, 26))
    assert all(item.id.startswith(f"q{tag.group(1)}-") for item, tag in zip(interview.items, tags))
    # the "what not to say" list shows up as misconception items
    assert sum(bool(item.misconception) for item in interview.items) >= 10


def test_ids_are_unique_within_each_lesson(shipped):
    for lesson in shipped:
        ids = [question.id for question in lesson.questions()]
        assert len(ids) == len(set(ids)), lesson.id


def test_try_it_lists_use_only_real_labctl_commands(shipped):
    for lesson in shipped:
        commands = [step.command for step in lesson.try_it]
        commands += ["labctl " + " ".join(argv) for argv in (lesson.lab.commands if lesson.lab else ())]
        for command in commands:
            for match in re.finditer(r"\blabctl\s+([a-z-]+)", command):
                assert match.group(1) in LABCTL_COMMANDS, (lesson.id, command)
            assert re.match(r"^(labctl|curl) ", command), (lesson.id, command)
        assert lesson.number.isdigit()


def test_lesson_000_teaches_the_required_commands(shipped):
    first = shipped[0]
    commands = " | ".join(step.command for step in first.try_it)
    assert "labctl run go" in commands and "labctl compare" in commands
    assert "curl -w 'time=%{time_total}\\n' -o /dev/null -s http://127.0.0.1:PORT/" in commands
    assert set(first.demo.servers) == {"go", "python", "rust", "node"}


def test_lesson_003_has_the_blocking_arithmetic(shipped):
    bottleneck = next(lesson for lesson in shipped if lesson.id == "003-first-bottleneck")
    rps = bottleneck.question("blocking-rps")
    assert rps.kind == "numeric" and rps.answer == 20
    assert any("labctl load go /health -c 100 -d 10s" == step.command for step in bottleneck.try_it)


def test_lessons_check_passes_on_the_shipped_lessons():
    result = runner.invoke(app, ["lessons", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok ") == 11


# --- lookup -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("003-first-bottleneck", "003-first-bottleneck"), ("3", "003-first-bottleneck"),
    ("003", "003-first-bottleneck"), ("first", "003-first-bottleneck"), ("go", "001-go-nethttp"),
    ("0", "000-four-servers"), ("CHOOSING", "004-choosing-a-language"),
    ("bottleneck", "003-first-bottleneck"), ("interview", "002-nethttp-interview"),
])
def test_find_by_id_number_or_prefix(shipped, query, expected):
    assert lessons.find(query, shipped).id == expected


def test_find_reports_unknown_and_ambiguous(shipped):
    with pytest.raises(lessons.LabctlError, match="no lesson 'zzz'") as unknown:
        lessons.find("zzz", shipped)
    assert "000 (four-servers)" in unknown.value.one_line()
    import dataclasses

    twin = dataclasses.replace(shipped[0], id="005-four-more", order=5)
    with pytest.raises(lessons.LabctlError, match="matches several lessons"):
        lessons.find("four", [*shipped, twin])


# --- broken lessons -----------------------------------------------------------------------------

BROKEN = [
    ("missing-field", "title: missing (required)"),
    ("wrong-type", "order: must be a whole number ≥ 0, not 'first'"),
    ("two-correct", "items[1].answer: exactly one correct answer is allowed (found 2)"),
    ("duplicate-choice", "items[1].choices[2]: same text as choices[0]"),
    ("all-of-the-above", "items[1].choices[2]: 'All of the above' makes more than one choice correct"),
    ("bad-answer", "items[1].answer: must be one of the choices"),
    ("newer-version", "format_version: 2 is written for a newer labctl (this one reads format 1). "
                      "Upgrade labctl"),
    ("toml-syntax", "front matter: invalid TOML: Invalid value (at line 5, column 9)"),
    ("two-prompts", "prompts: must be exactly 3, in order (found 2)"),
    ("duplicate-id", "items[2].id: 'rps' is already the id of items[0]"),
    ("negative-tolerance", "items[0].tolerance: must be ≥ 0, not -1"),
    ("unknown-field", "items[0].explaination: unknown field"),
    ("no-front-matter", "front matter: the file must start with a line '+++'"),
    ("id-mismatch", "id: '002-other' must match the file name '001-minimal'"),
    ("bad-kind", "items[0].kind: 'essay' is not a kind of item. Use one of: choice, true_false, numeric"),
    ("bad-skill", "items[0].skill: 'memorise' is not a skill. Use one of: recall, predict, explain, apply"),
    ("bad-unit", "items[0].unit: 'parsecs' is not a unit a lesson may declare"),
    ("wrong-field-for-kind", "items[1].tolerance: unknown field. Known fields here: answer, choices, "
                             "explanation, hint, id, kind, misconception, question, skill, source"),
    ("empty-question", "items[0].question: must not be empty"),
    ("bad-id", "items[0].id: 'Blocking RPS' is not a valid id"),
    ("letter-choice", "items[1].choices[2]: 'both a and b' makes more than one choice correct"),
]


@pytest.mark.parametrize("case, message", BROKEN, ids=[case for case, _ in BROKEN])
def test_broken_lesson_names_file_and_field(case, message):
    folder = ASSETS / case
    result = runner.invoke(app, ["lessons", "check", "--dir", str(folder)])
    assert result.exit_code == 2, result.output
    expected_file = f"tests/assets/lessons/{case}/001-minimal.md"
    assert f"{expected_file}: {message}" in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case, message", BROKEN[:4], ids=[case for case, _ in BROKEN[:4]])
def test_load_lesson_raises_lesson_error(case, message):
    with pytest.raises(lessons.LessonError) as error:
        lessons.load_lesson(ASSETS / case / "001-minimal.md")
    assert error.value.exit_code == 2
    assert message in error.value.one_line()


RULES = [
    ("rule-position", "items: the correct answer is choice a in 3 of 3 choice items (more than half)"),
    ("rule-longest", "items: the correct choice is the longest in 2 of 3 choice items (more than half: "
                     "health, loop)"),
    ("rule-true-false", "items: 2 of 2 true/false answers are true (100%); keep between 35% and 65% true"),
    ("rule-skills", "items: only 1 of 6 items ask to predict, explain or apply (skill); at least two-thirds"),
    ("rule-source", "items: 1 of 6 items have no source (health)"),
    ("rule-letter", "items[3].question: refers to a choice by its letter"),
    ("rule-keywords", "prompts[2].key_points[0].keywords: every keyword is in the prompt's own text"),
]


@pytest.mark.parametrize("case, message", RULES, ids=[case for case, _ in RULES])
def test_each_check_rule_fails_its_broken_fixture(case, message):
    """Each fixture is the valid lesson with one rule broken; the check names file, field, rule."""
    result = runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / case)])
    assert result.exit_code == 2, result.output
    faults = [line for line in result.stdout.splitlines() if line.startswith("fault")]
    assert len(faults) == 1, result.stdout
    assert f"tests/assets/lessons/{case}/001-minimal.md: {message}" in faults[0]
    document = json.loads(runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / case), "--json"]).stdout)
    assert document["ok"] is False and len(document["faults"]) == 1


def test_a_question_repeated_in_another_lesson_is_a_warning_only():
    result = runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / "rule-duplicate")])
    assert result.exit_code == 0, result.output
    assert ("warn  tests/assets/lessons/rule-duplicate/002-other.md: items[5].question: almost the same "
            "question as 001-minimal items[5] (goroutines)") in result.stdout
    document = json.loads(runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / "rule-duplicate"),
                                              "--json"]).stdout)
    assert document["ok"] is True and document["schema"] == "labctl.lessons.check/1"
    assert any("goroutines" in warning["message"] for warning in document["warnings"])


def test_rule_thresholds_at_their_edges():
    """Exactly half in one position passes; 1 of 3 or 2 of 3 true fails, 2 of 4 passes."""
    from dataclasses import replace

    from labctl.learning import lesson_rules

    valid = lessons.load_lesson(ASSETS / "valid" / "001-minimal.md")
    choice = next(item for item in valid.items if item.kind == "choice")
    half = replace(valid, items=(replace(choice, id="one", answer=0), replace(choice, id="two", answer=1)))
    assert lesson_rules.answer_positions(half) == []
    tf = next(item for item in valid.items if item.kind == "true_false")
    for answers, ok in [((True, False, False), False), ((True, True, False), False),
                        ((True, False, True, False), True), ((True, False), True)]:
        lesson = replace(valid, items=tuple(replace(tf, id=f"t{n}", answer=a) for n, a in enumerate(answers)))
        assert (lesson_rules.true_false_balance(lesson) == []) is ok, answers


def test_valid_fixture_passes():
    result = runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / "valid")])
    assert result.exit_code == 0, result.output


def test_check_json_lists_faults():
    result = runner.invoke(app, ["lessons", "check", "--dir", str(ASSETS / "two-correct"), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["faults"][0]["field"] == "items[1].answer"


def test_a_broken_lesson_among_good_ones_is_skipped_with_a_warning(tmp_path, monkeypatch):
    shutil.copy(ASSETS / "valid" / "001-minimal.md", tmp_path / "001-minimal.md")
    broken = (ASSETS / "newer-version" / "001-minimal.md").read_text().replace("001-minimal", "002-newer")
    (tmp_path / "002-newer.md").write_text(broken)
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(tmp_path))
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    assert "A minimal lesson" in result.stdout
    assert "002-newer.md: format_version: 2 is written for a newer labctl" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["show", "2"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_empty_folder_is_an_error(tmp_path):
    result = runner.invoke(app, ["lessons", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no lesson files" in result.stderr


# --- show / lessons / next ----------------------------------------------------------------------

def test_lessons_lists_progress():
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    for number in ("000", "002", "004"):
        assert f"\n{number} " in result.stdout
    assert "new" in result.stdout
    document = json.loads(runner.invoke(app, ["lessons", "--json"]).stdout)
    assert [entry["status"] for entry in document["lessons"]] == ["new"] * 11
    assert document["lessons"][2]["items"] >= 25


def test_show_renders_prose_demo_code_try_it_and_prompts():
    result = runner.invoke(app, ["show", "000", "--code"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Why every service has / and /health" in out
    go_source = (paths.servers_dir() / "go" / "main.go").read_text()
    # the demo is the real file from servers/, not a copy
    first_code_line = next(line for line in go_source.splitlines() if line.strip())
    assert first_code_line.strip() in out
    assert "labctl compare" in out and "time_total" in out
    assert "Three prompts" in out and "50,000 requests per second" in out


def test_show_prompts_is_plain_text_ready_to_paste():
    result = runner.invoke(app, ["show", "bottleneck", "--prompts"], color=True)
    assert result.exit_code == 0
    text = result.stdout
    assert "\x1b[" not in text and "│" not in text and "[bold" not in text
    numbered = [line for line in text.splitlines() if re.match(r"^[123]\. ", line)]
    assert len(numbered) == 3
    assert numbered[0].startswith("1. Explain the claim 'the first bottleneck is I/O")


def test_show_unknown_lesson_is_one_line():
    result = runner.invoke(app, ["show", "nope"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no lesson 'nope'" in result.stderr


def test_next_starts_with_the_first_lesson():
    result = runner.invoke(app, ["next"])
    assert result.exit_code == 0
    assert "labctl show 000" in result.stdout
    advice = json.loads(runner.invoke(app, ["next", "--json"]).stdout)
    assert advice["action"] == "start" and advice["lesson"] == "000-four-servers"


def test_next_prefers_a_started_lesson_then_reviews(tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text('{"blocking-rps": 20, "parallel-abc": 80}')
    runner.invoke(app, ["quiz", "003", "--answers", str(answers)])
    advice = json.loads(runner.invoke(app, ["next", "--json"]).stdout)
    assert advice["action"] == "finish" and advice["lesson"] == "003-first-bottleneck"
    assert advice["next_review"]
    from datetime import datetime, timedelta, timezone

    later = (datetime.now(timezone.utc) + timedelta(days=1, hours=1)).isoformat()
    advice = json.loads(runner.invoke(app, ["next", "--json"], env={"LABCTL_NOW": later}).stdout)
    assert advice["action"] == "review" and advice["due_now"] == 1
    listing = runner.invoke(app, ["lessons", "--json"], env={"LABCTL_NOW": later})
    entry = json.loads(listing.stdout)["lessons"][3]
    assert entry["status"] == "in progress" and entry["due_now"] == 1 and entry["studied"] == 2


# --- 80 columns ----------------------------------------------------------------------------------

def _rows(table_text: str) -> dict[str, int]:
    """lesson number → how many lines its row takes in a rendered lessons table."""
    rows: dict[str, int] = {}
    current = None
    for line in table_text.splitlines():
        start = re.match(r"^\s*(\d{3}) ", line)
        if start:
            current = start.group(1)
            rows[current] = 1
        elif current and line.startswith("    ") and line.strip():
            rows[current] += 1
    return rows


def _course_with_a_long_title(tmp_path: Path) -> Path:
    for source in (ASSETS / "course").glob("*.md"):
        shutil.copy(source, tmp_path / source.name)
    lesson = tmp_path / "001-second.md"
    lesson.write_text(lesson.read_text().replace(
        'title = "A second lesson, so that the menu has a choice"',
        'title = "A second lesson with a title long enough to need two lines at eighty columns"'))
    return tmp_path


def test_lessons_reads_well_at_80_columns(tmp_path):
    import os
    import subprocess
    import sys

    for folder in (paths.lessons_dir(), _course_with_a_long_title(tmp_path)):
        env = {**os.environ, "LABCTL_WIDTH": "80", "NO_COLOR": "1", "LABCTL_LESSONS_DIR": str(folder)}
        out = subprocess.run([sys.executable, "-m", "labctl", "lessons"], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert max(len(line) for line in out.splitlines()) <= 80
        rows = _rows(out)
        assert len(rows) == len(lessons.load_all(folder)[0]) and max(rows.values()) <= 2, out
        assert "-minimal" not in out and "four-servers" not in out   # the number, not the full id


def test_the_menu_table_reads_well_at_80_columns(tmp_path):
    from rich.console import Console

    from labctl import ui
    from labctl.learning import quiz_ui
    from labctl.learning.progress import Progress

    for folder in (paths.lessons_dir(), _course_with_a_long_title(tmp_path)):
        loaded = lessons.load_all(folder)[0]
        progress = Progress.load()
        statuses = {lesson.id: progress.lesson_status(lesson) for lesson in loaded}
        console = Console(width=80, record=True, file=open(os.devnull, "w"), theme=ui.THEME)
        console.print(quiz_ui.lessons_table(loaded, statuses, numbered=True))
        rows = _rows(console.export_text())
        assert len(rows) == len(loaded) and max(rows.values()) <= 2


def test_show_items_and_quiz_print_letter_choices_in_file_order(monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(ASSETS / "course"))
    listing = runner.invoke(app, ["show", "000", "--items"])
    assert listing.exit_code == 0, listing.output
    text = listing.stdout
    assert "[technique] (choice) Why does issuing three independent calls at once" in text
    assert "   a) The calls each get a larger share of CPU time\n   b) The waits overlap" in text
    assert "[sequential] (number in ms)" in text and "[async-faster] (true or false)" in text
    course = lessons.load_lesson(ASSETS / "course" / "000-sample.md")
    for item in course.items:                       # questions only: no answers, no explanations
        assert item.explanation not in text and f"[{item.id}]" in text
    printed = runner.invoke(app, ["quiz", "000", "--print"])
    assert printed.exit_code == 0 and printed.stdout == text
    assert runner.invoke(app, ["quiz", "--print"]).exit_code == 2


def test_show_prints_the_servers_source_only_with_code():
    go_source = (paths.servers_dir() / "go" / "main.go").read_text()
    first_code_line = next(line for line in go_source.splitlines() if line.strip()).strip()
    without = runner.invoke(app, ["show", "000"])
    assert without.exit_code == 0
    assert first_code_line not in without.stdout
    assert "labctl show 000 --code" in " ".join(without.stdout.split())
    with_code = runner.invoke(app, ["show", "000", "--code"])
    assert first_code_line in with_code.stdout


def test_dates_are_human():
    from datetime import datetime, timedelta, timezone

    from labctl.results.learning_render import human_date

    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc).astimezone()
    assert human_date(now + timedelta(hours=2), now).startswith("today at ")
    assert human_date(now + timedelta(days=1), now) == "tomorrow"
    assert human_date(now + timedelta(days=2), now) == (now + timedelta(days=2)).strftime("%a %-d %b")
    assert human_date(now + timedelta(days=400), now).endswith(str((now + timedelta(days=400)).year))


def test_next_says_when_the_next_review_is_in_words(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(ASSETS / "course"))
    answers = tmp_path / "a.json"
    answers.write_text('{"blocking-rps": 21}')
    runner.invoke(app, ["quiz", "000", "--answers", str(answers)])
    result = runner.invoke(app, ["next"])
    assert result.exit_code == 0
    assert "Next review due tomorrow." in result.stdout          # Again: a day later
    document = json.loads(runner.invoke(app, ["next", "--json"]).stdout)
    assert re.match(r"\d{4}-\d\d-\d\dT", document["next_review"])   # JSON keeps ISO 8601


# --- the schema's messages, field by field -----------------------------------------------------

SCHEMA_FAULTS = [
    (lambda d: d["prompts"][0].__setitem__("id", 3), "prompts[0].id", "must be a string, not 3"),
    (lambda d: d.__setitem__("demo", 3), "demo", "must be a table, not 3"),
    (lambda d: d.__setitem__("items", "no"), "items", "must be an array, not 'no'"),
    (lambda d: d["items"][0].__setitem__("answer", "20"), "items[0].answer", "must be a number, not '20'"),
    (lambda d: d["items"][4].__setitem__("answer", "false"), "items[4].answer", "must be true or false, not 'false'"),
    (lambda d: d["items"][1].__setitem__("choices", ["x"]), "items[1].choices", "must have 2 to 8 choices (found 1)"),
    (lambda d: d["prompts"][0].__setitem__("key_points", []), "prompts[0].key_points",
     "must list at least one key point"),
    (lambda d: d.__setitem__("try_it", []), "try_it", "must list at least one command"),
    (lambda d: d.__setitem__("lab", {"commands": [["labctl", "run"]]}), "lab.commands[0]", "leave out 'labctl'"),
    (lambda d: d["items"][0].__setitem__("answer", float("nan")), "items[0].answer", "must be a finite number"),
    (lambda d: d["items"][0].pop("kind"), "items[0].kind", "missing (required)"),
    (lambda d: d.__setitem__("order", True), "order", "must be a whole number ≥ 0, not True"),
    (lambda d: d["demo"].__setitem__("servers", ["cobol"]) if "demo" in d else d.__setitem__(
        "demo", {"servers": ["cobol"]}), "demo.servers[0]", "unknown server 'cobol'"),
]


@pytest.mark.parametrize("break_it, where, message", SCHEMA_FAULTS,
                         ids=[where + ":" + message[:20] for _, where, message in SCHEMA_FAULTS])
def test_schema_faults_name_the_field(break_it, where, message):
    import copy
    import tomllib

    from labctl.learning import lesson_schema

    text = (ASSETS / "valid" / "001-minimal.md").read_text()
    data = copy.deepcopy(tomllib.loads(text.split("+++")[1]))
    break_it(data)
    with pytest.raises(lesson_schema.Fault) as fault:
        lesson_schema.parse(data, "prose", "001-minimal")
    assert fault.value.where == where
    assert fault.value.problem.startswith(message), fault.value.problem


def test_a_hint_that_holds_the_answer_is_warned_about():
    from dataclasses import replace

    from labctl.learning import lesson_rules

    valid = lessons.load_lesson(ASSETS / "valid" / "001-minimal.md")
    assert lesson_rules.hints_that_answer(valid) == []
    rps, health = valid.items[0], valid.items[1]
    leaky = replace(valid, items=(replace(rps, hint="It is 20 per second."),
                                  replace(health, hint="Think: to learn whether to send traffic there."),
                                  *valid.items[2:]))
    findings = lesson_rules.hints_that_answer(leaky)
    assert [f.where for f in findings] == ["items[0].hint", "items[1].hint"]
    assert {f.severity for f in findings} == {"warning"}
    # 200 or 2.0 in a hint is not the answer 20
    assert lesson_rules.hints_that_answer(replace(valid, items=(replace(rps, hint="Not 200, not 2.0"),))) == []
