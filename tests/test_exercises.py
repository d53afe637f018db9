"""Exercises without an engine: the shipped set is valid and complete, a broken exercise.toml is
one line naming the file and the field, workspaces are made, found, reset and diffed, and the
learner's state flows into `lessons`, `next` and `exercises`."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.commands.learn import _advice
from labctl.learning import exercises
from labctl.learning.progress import LessonStatus

runner = CliRunner()
SHIPPED = exercises.exercises_dir()
# A small, fast exercise to copy and break (no starter/: the shipped main.py is the starter).
SAMPLE = "python-head"
# One with both a starter/ and a solution/ file, for the workspace tests.
EDITED = "go-slow-clients"


def invoke(*args: str):
    return runner.invoke(app, list(args))


def one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    return errors[0]


# --- the shipped set --------------------------------------------------------------------------

def test_the_shipped_exercises_are_valid_and_cover_every_server_twice():
    found, faults = exercises.load_all()
    assert faults == []
    assert len(found) >= 10
    per_server = Counter(exercise.spec.base for exercise in found)
    assert set(per_server) == {"go", "python", "rust", "node"}
    assert min(per_server.values()) >= 2, per_server
    result = invoke("exercises", "check")
    assert result.exit_code == 0, result.stderr
    assert f"{len(found)} exercises valid" in result.stdout


def test_every_exercise_is_named_by_its_lesson_and_has_hints_and_a_real_change():
    for exercise in exercises.load_all()[0]:
        assert exercises.listed_by_lesson(exercise) is None, exercise.name
        assert len(exercise.hints) >= 2, exercise.name
        diff = exercises.solution_diff(exercise)
        assert diff.count("\n-") + diff.count("\n+") >= 2, exercise.name
        for name in exercise.spec.files:
            assert (exercise.starter_dir / name).is_file() or (exercise.base_dir / name).is_file()


def test_every_check_kind_is_documented_and_used():
    doc = (Path(__file__).parent.parent / "docs" / "exercises.md").read_text()
    for kind in exercises.CHECK_KINDS:
        assert f"| `{kind}` |" in doc, kind
    used = {exercise.check.__struct_config__.tag for exercise in exercises.load_all()[0]}
    assert used >= {"throughput", "latency", "response", "slow-clients", "shutdown-drain",
                    "connection-reuse"}


# --- faults: one line, the file and the field -----------------------------------------------------

@pytest.fixture
def authoring(tmp_path, monkeypatch):
    """A private exercises folder holding a copy of SAMPLE; returns that copy's folder."""
    root = tmp_path / "exercises"
    shutil.copytree(SHIPPED / SAMPLE, root / SAMPLE)
    monkeypatch.setenv("LABCTL_EXERCISES_DIR", str(root))
    return root / SAMPLE


def _edit_toml(folder: Path, old: str, new: str) -> None:
    path = folder / exercises.EXERCISE_FILE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old, new, field, words", [
    ('title = "', 'titel = "', "titel", "unknown field"),
    ('kind = "response"', 'kind = "vibes"', "check.kind", "not a check kind"),
    ('base = "python"', 'base = "cobol"', "base", "not one of the shipped servers"),
    ('lesson = "000-four-servers"', 'lesson = "999-nothing"', "lesson", "no lesson"),
    ('status = 200', 'status = "ok"', "check.status", "must be"),
    ('files = ["main.py"]', 'files = ["nowhere.py"]', "files[0]", "neither starter/"),
    ('format_version = 1', 'format_version = 7', "format_version", "not supported"),
])
def test_a_fault_names_the_file_and_the_field(authoring, old, new, field, words):
    _edit_toml(authoring, old, new)
    result = invoke("exercises", "check")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert f"{SAMPLE}/exercise.toml: {field}: " in line and words in line, line


def test_a_missing_threshold_is_named(authoring):
    (authoring / exercises.EXERCISE_FILE).write_text(
        (authoring / exercises.EXERCISE_FILE).read_text().split("[check]")[0]
        + '[check]\nkind = "throughput"\npath = "/"\n')
    line = one_error_line(invoke("exercises", "check"))
    assert "exercise.toml: check.min_rps: missing (required)" in line


def test_a_speedup_must_be_more_than_one(authoring):
    text = (authoring / exercises.EXERCISE_FILE).read_text().split("[check]")[0]
    (authoring / exercises.EXERCISE_FILE).write_text(
        text + '[check]\nkind = "speedup"\npath = "/report"\nmin_speedup = 1\n')
    line = one_error_line(invoke("exercises", "check"))
    assert "exercise.toml: check.min_speedup: " in line
    (authoring / exercises.EXERCISE_FILE).write_text(
        text + '[check]\nkind = "speedup"\npath = "/report"\nmin_speedup = 3\n')
    assert exercises.load(authoring).check == exercises.SpeedupCheck(path="/report",
                                                                     min_speedup=3)


def test_folder_faults(authoring):
    shutil.copy(SHIPPED.parent / "servers" / "python" / "main.py", authoring / "solution" / "main.py")
    line = one_error_line(invoke("exercises", "check"))
    assert "solution: folder: the solution changes nothing" in line
    (authoring / "hints.md").write_text("\n---\n")
    assert "hints.md: missing or empty" in one_error_line(invoke("exercises", "check"))


def test_slow_clients_deadline_must_fit_the_window(authoring):
    text = (authoring / exercises.EXERCISE_FILE).read_text().split("[check]")[0]
    (authoring / exercises.EXERCISE_FILE).write_text(
        text + '[check]\nkind = "slow-clients"\ncut_within_s = 12\nwindow_s = 10\n')
    assert "check.cut_within_s: must be shorter" in one_error_line(invoke("exercises", "check"))


NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


def test_the_readme_counts_the_exercises_and_the_check_kinds_it_ships():
    readme = (SHIPPED.parent / "README.md").read_text()
    found = exercises.load_all()[0]
    assert f" {NUMBER_WORDS[len(found)]} exercises in which you fix" in readme
    assert f"naming one of {NUMBER_WORDS[len(exercises.CHECK_KINDS)]} check kinds" in readme


def test_an_overload_settling_must_leave_requests_to_judge(authoring):
    text = (authoring / exercises.EXERCISE_FILE).read_text().split("[check]")[0]
    (authoring / exercises.EXERCISE_FILE).write_text(
        text + '[check]\nkind = "overload"\nduration_s = 4\ntimeout_s = 1\nsettle_s = 3\n')
    assert "check.settle_s: leaves nothing to count" in one_error_line(invoke("exercises", "check"))
    (authoring / exercises.EXERCISE_FILE).write_text(
        text + '[check]\nkind = "overload"\nduration_s = 6\ntimeout_s = 1\nsettle_s = 1.5\n')
    assert exercises.load(authoring).check == exercises.OverloadCheck(duration_s=6, settle_s=1.5)


def test_hints_are_split_on_separator_lines(tmp_path):
    (tmp_path / "hints.md").write_text("first\nstill first\n---\n\nsecond\n---\n---\nthird\n")
    assert exercises._read_hints(tmp_path) == ("first\nstill first", "second", "third")


def test_an_unknown_name_suggests_a_close_one():
    line = one_error_line(invoke("exercise", "start", "python-hed"))
    assert "no exercise named 'python-hed'" in line and "python-head" in line


# --- workspaces -----------------------------------------------------------------------------------

def test_a_workspace_is_the_base_server_with_the_starter_laid_over(tmp_path):
    exercise = exercises.find(EDITED)
    workspace = exercises.materialise(exercise, tmp_path / "ws")
    base = exercise.base_dir
    assert (workspace / "server.toml").read_text() == (base / "server.toml").read_text()
    assert (workspace / "main.go").read_text() == (exercise.starter_dir / "main.go").read_text()
    assert exercises.workspace_of(workspace) == (EDITED, workspace.resolve())
    nested = workspace / "notes" / "deeper"
    nested.mkdir(parents=True)
    assert exercises.workspace_of(nested) == (EDITED, workspace.resolve())
    assert exercises.workspace_of(tmp_path) is None
    solved = exercises.materialise(exercise, tmp_path / "solved", solution=True)
    assert (solved / "main.go").read_text() == (exercise.solution_dir / "main.go").read_text()


def test_restore_puts_back_only_the_starters_files(tmp_path):
    exercise = exercises.find(EDITED)
    workspace = exercises.materialise(exercise, tmp_path / "ws", solution=True)
    (workspace / "my-notes.txt").write_text("keep me")
    assert exercises.restore_starter(exercise, workspace) == ["main.go"]
    assert (workspace / "main.go").read_text() == (exercise.starter_dir / "main.go").read_text()
    assert (workspace / "my-notes.txt").read_text() == "keep me"
    assert exercises.restore_starter(exercise, workspace) == []


def test_start_hint_solution_reset_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = invoke("exercise", "start", EDITED)
    assert started.exit_code == 0, started.stderr
    workspace = tmp_path / "labctl-exercises" / EDITED
    assert (workspace / exercises.WORKSPACE_MARK).is_file()
    assert "labctl exercise check" in started.stdout

    again = invoke("exercise", "start", EDITED)
    assert again.exit_code == 2 and "exists and is not empty" in one_error_line(again)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "precious.txt").write_text("x")
    refused = invoke("exercise", "start", EDITED, "--dir", str(other), "--force")
    assert refused.exit_code == 2 and "not an exercise workspace" in one_error_line(refused)
    assert (other / "precious.txt").exists()

    listed = json.loads(invoke("exercises", "--json").stdout)
    row = next(r for r in listed["exercises"] if r["name"] == EDITED)
    assert row["status"] == "started" and row["workspace"] == str(workspace)

    monkeypatch.chdir(workspace)
    exercise = exercises.find(EDITED)
    hints = [invoke("exercise", "hint").stdout for _ in range(len(exercise.hints) + 1)]
    assert "hint 1/" in hints[0] and f"hint {len(exercise.hints)}/" in hints[-2]
    assert "hint 1/" in hints[-1]    # after the last, the first again

    refused = invoke("exercise", "solution")
    assert refused.exit_code == 2 and "not passed" in one_error_line(refused)
    shown = invoke("exercise", "solution", "--force")
    assert shown.exit_code == 0 and "solution/main.go" in shown.stdout

    (workspace / "main.go").write_text("edited\n")
    declined = runner.invoke(app, ["exercise", "reset"], input="n\n")
    assert declined.exit_code == 1 and (workspace / "main.go").read_text() == "edited\n"
    unanswered = runner.invoke(app, ["exercise", "reset"], input="")   # end of input: no answer
    assert unanswered.exit_code == 1 and "no answer" in one_error_line(unanswered)
    assert (workspace / "main.go").read_text() == "edited\n"
    reset = invoke("exercise", "reset", "--yes")
    assert reset.exit_code == 0 and "main.go" in reset.stdout
    assert (workspace / "main.go").read_text() == (exercise.starter_dir / "main.go").read_text()

    monkeypatch.chdir(tmp_path)
    nowhere = invoke("exercise", "check")
    assert nowhere.exit_code == 2 and "not an exercise workspace" in one_error_line(nowhere)


def test_check_without_a_workspace_says_start_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("exercise", "check", SAMPLE)
    assert result.exit_code == 2
    assert f"labctl exercise start {SAMPLE}" in one_error_line(result)


# --- progress in lessons and next -----------------------------------------------------------------

def _status(state: str) -> LessonStatus:
    return LessonStatus(state=state, studied=1, total=1, due=0, last_score=1.0, next_due=None)


def test_next_sends_a_finished_lessons_learner_to_its_exercise():
    from labctl.learning import lessons

    loaded = lessons.load_all()[0]
    first, second = loaded[0], loaded[1]
    statuses = {lesson.id: _status("new") for lesson in loaded}
    statuses[first.id] = _status("done")
    advice = _advice(loaded, statuses, {first.id: [("ex-one", "passed"), ("ex-two", "started")]})
    assert advice["action"] == "exercise" and advice["exercise"] == "ex-two"
    assert advice["command"] == "labctl exercise check ex-two"
    advice = _advice(loaded, statuses, {first.id: [("ex-one", "passed")]})
    assert advice["action"] == "start" and advice["lesson"] == second.id


def test_lessons_shows_exercises_passed(monkeypatch):
    from labctl.learning.progress import Progress

    lesson_id = exercises.find(SAMPLE).spec.lesson
    Progress.load().update_exercise(SAMPLE, started=True, passed=True)
    document = json.loads(invoke("lessons", "--json").stdout)
    row = next(r for r in document["lessons"] if r["id"] == lesson_id)
    assert {"name": SAMPLE, "status": "passed"} in row["exercises"]
    table = invoke("lessons").stdout
    assert "exercises" in table


def test_a_lab_naming_a_missing_exercise_fails_lessons_check(tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    shutil.copytree(Path(__file__).parent.parent / "lessons", folder)
    lesson = folder / "000-four-servers.md"
    lesson.write_text(lesson.read_text().replace('exercises = [', 'exercises = ["no-such-one", ', 1))
    monkeypatch.setenv("LABCTL_LESSONS_DIR", str(folder))
    result = invoke("lessons", "check")
    assert result.exit_code == 2
    assert "lab.exercises[0]: no exercise 'no-such-one'" in result.stdout


def test_task_and_hint_text_is_reflowed_but_lists_and_code_keep_their_lines():
    text = "one\ntwo\n\n- item\n  more\n- next\n\n    code line\n    code two\nafter\n"
    assert exercises.reflow(text) == "one two\n\n- item more\n- next\n\n    code line\n    code two\nafter"


def test_without_a_solution_folder_the_shipped_file_is_the_fix(tmp_path):
    exercise = exercises.find("go-keep-alive")
    assert not exercise.solution_dir.exists()
    assert exercise.changed_files() == ["main.go"]
    solved = exercises.materialise(exercise, tmp_path / "solved", solution=True)
    assert (solved / "main.go").read_text() == (exercise.base_dir / "main.go").read_text()
    assert "SetKeepAlivesEnabled(false)" in exercises.solution_diff(exercise)


def test_the_list_reads_at_80_columns_with_every_name_whole():
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "labctl", "exercises"], capture_output=True, text=True,
                         env={**os.environ, "LABCTL_WIDTH": "80"}, check=True).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for exercise in exercises.load_all()[0]:
        assert f"\n{exercise.name} " in out   # whole, at the start of its row


def test_a_starter_that_drifted_from_the_shipped_file_is_a_fault(tmp_path, monkeypatch):
    root = tmp_path / "exercises"
    shutil.copytree(SHIPPED / EDITED, root / EDITED)
    monkeypatch.setenv("LABCTL_EXERCISES_DIR", str(root))
    main = root / EDITED / "starter" / "main.go"
    main.write_text(main.read_text() + "".join(f"// note {n}\n" for n in range(45)))
    line = one_error_line(invoke("exercises", "check"))
    assert "starter/main.go differs from servers/go/main.go in" in line and "copy the shipped file" in line


# --- a speedup exercise's author check: one series, the reference's turns shared ---------------

def test_the_author_check_of_a_speedup_runs_the_three_sides_in_turns_and_shares_the_reference(
        monkeypatch):
    """The loads are faked (the boundary); the turn order and the two outcomes are the code's.
    The starter again does 100 req/s like the reference; the solution 400."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    from labctl.learning import exercise_checks
    from labctl.measure.loadgen.options import LoadOptions, LoadResult
    from labctl.runtime.base import Limits

    check = exercises.SpeedupCheck(path="/report", min_speedup=2.0, duration_s=4.0)
    starter, solution = SimpleNamespace(name="starter"), SimpleNamespace(name="solution")
    order: list[str] = []

    @contextmanager
    def running(runtime, server, limits):
        order.append(server.name)
        yield SimpleNamespace(server=server, limits=limits)

    def run_load(runtime, instance, options, cpus, generator=None, warmup_s=0.0):
        per_s = 400 if instance.server is solution else 100
        return LoadResult(generator="wrk", version=None, where="host", where_detail="",
                          client_cpuset=None, target_url="", options=LoadOptions(), threads=1,
                          requests=int(per_s * options.duration_s), duration_s=options.duration_s,
                          latency_us={}, percentile_kind="", errors={}, non_2xx=0,
                          non_2xx_definition="")

    monkeypatch.setattr(exercise_checks, "running", running)
    monkeypatch.setattr(exercise_checks.loadgen, "run_load", run_load)
    first, second = exercise_checks.speedup_starter_and_solution(
        None, starter, solution, check, Limits(), None)
    assert order == ["starter", "starter", "solution"] * exercise_checks.SPEEDUP_ROUNDS
    assert not first.passed and first.figures["speedup"] == 1.0
    assert second.passed and second.figures["speedup"] == 4.0
    assert second.figures["starter_requests_per_s"] == first.figures["starter_requests_per_s"]
    assert "2 turns of 2 s each" in second.measured
