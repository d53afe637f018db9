"""The menu (`labctl` with no arguments, in a terminal), and the advice behind `labctl next`.

The menu carries a learner through a lesson, one key per step: read it (s), write the lab's
prediction sheet before the lab runs (p), run the lab (l, with the sheet when it has answers),
start an exercise (e: then the `cd` and `check --watch` lines to type), take the quiz (t), and
come back (b). What a step runs is a labctl command a learner could type (the lab, exercise
start), run as a child process so the menu outlives its failure or its Ctrl-C; the quiz and the
review run in this process through the callables the command layer passes in, which know how
the quiz commands end (their exit statuses).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from labctl import ui
from labctl.errors import LabctlError
from labctl.lazy import lazy_module
from labctl.learning import lessons as lessonlib
from labctl.learning.lessons import Lesson
from labctl.learning.progress import LessonStatus, Progress, now

if TYPE_CHECKING:
    from labctl.learning import exercises as exerciselib
    from labctl.learning import quiz_ui
    from labctl.results.documents import NextAdvice
else:   # `labctl next` needs the advice alone, not the quiz's screens or the exercises
    exerciselib = lazy_module("labctl.learning.exercises")
    quiz_ui = lazy_module("labctl.learning.quiz_ui")


@dataclass(frozen=True)
class MenuActions:
    """What the menu borrows from the command layer."""

    load_lessons: Callable[[], list[Lesson]]
    load_progress: Callable[[], Progress]
    take_quiz: Callable[[Lesson, list[Lesson], Progress], object]
    review: Callable[[list[Lesson], Progress], object]


# --- what to do next ---------------------------------------------------------------------------

def exercise_states(lessons: list[Lesson], progress: Progress) -> dict[str, list[tuple[str, str]]]:
    """For each lesson, its lab's exercises and your state in each (not started, started,
    passed, skipped). Read from the progress file alone: listing lessons never loads the exercises."""
    return {lesson.id: [(name, progress.exercise_state(name)) for name in lesson.lab.exercises]
            for lesson in lessons if lesson.lab and lesson.lab.exercises}


def advice(lessons: list[Lesson], statuses: dict[str, LessonStatus],
           exercises: dict[str, list[tuple[str, str]]]) -> NextAdvice:
    """The next step (the ``labctl.next/1`` document's keys): reviews due first, then a lesson
    in progress, a finished lesson's exercises, then the next new lesson."""
    due = sum(status.due for status in statuses.values())
    next_due = min((s.next_due for s in statuses.values() if s.next_due is not None), default=None)
    review = next_due.isoformat(timespec="minutes") if next_due and not due else None
    if due:
        return {"due_now": due, "next_review": review, "action": "review", "lesson": None,
                "command": "labctl quiz --review",
                "commands": ["labctl quiz --review"],
                "why": f"{due} question{'s are' if due != 1 else ' is'} due for review."}
    # A lesson already started comes before a new one.
    for lesson in sorted(lessons, key=lambda lesson: statuses[lesson.id].state != "in progress"):
        status = statuses[lesson.id]
        if status.state == "in progress":
            return {"due_now": due, "next_review": review, "action": "finish", "lesson": lesson.id,
                    "command": f"labctl quiz {lesson.number}",
                    "commands": [f"labctl show {lesson.number}", f"labctl quiz {lesson.number}"],
                    "why": f"Finish lesson {lesson.number}, {lesson.title}: "
                           f"{status.studied}/{status.total} questions studied"
                           + (", last score below the pass mark" if status.last_score is not None
                              and status.studied == status.total else "") + "."}
        if status.state == "done":
            # A lesson's quiz is done: its exercises come before the next lesson.
            for name, state in exercises.get(lesson.id, []):
                if state in ("passed", "skipped"):
                    continue
                command = (f"labctl exercise check {name}" if state == "started"
                           else f"labctl exercise start {name}")
                return {"due_now": due, "next_review": review, "action": "exercise",
                        "lesson": lesson.id, "exercise": name,
                        "command": command, "commands": [command],
                        "why": f"Lesson {lesson.number} is done; now change a server: exercise "
                               f"{name} is {state} (labctl next --skip passes over it)."}
        if status.state == "new":
            return {"due_now": due, "next_review": review, "action": "start", "lesson": lesson.id,
                    "command": f"labctl show {lesson.number}",
                    "commands": [f"labctl show {lesson.number}", f"labctl quiz {lesson.number}"],
                    "why": f"Start lesson {lesson.number}, {lesson.title}: read it, try it, then "
                           "take its quiz."}
    return {"due_now": due, "next_review": review, "action": "done", "lesson": None,
            "command": "labctl quiz --review", "commands": [],
            "why": "Every lesson is done and nothing is due. Come back for the next review."}


# --- the lab's prediction sheet ----------------------------------------------------------------

def sheet_lab(lesson: Lesson) -> str | None:
    """The lesson's lab that asks for a learner's predictions (``--sheet``), or None."""
    import importlib

    for argv in lesson.lab.commands if lesson.lab else ():
        if len(argv) >= 2 and argv[0] == "lab":
            try:
                module = importlib.import_module(f"labctl.labs.{argv[1].replace('-', '')}")
            except ImportError:
                continue
            plugin = getattr(module, "PLUGIN", None)
            if plugin is not None and plugin.sheet is not None:
                return argv[1]
    return None


def sheet_path(lab: str) -> Path:
    """Where the menu writes a lab's prediction sheet: the current folder, where the learner
    edits it (and finds it again for `labctl lab NAME --predict FILE`)."""
    return Path(f"labctl-{lab}-predictions.toml")


def _has_answers(path: Path) -> bool:
    from labctl.labs import predictions

    try:
        return any(predictions.load(path).values())
    except LabctlError:
        return True     # the lab says what is wrong with it, in its own words


def _labctl(argv: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl", *argv], env=os.environ.copy(),
                          stdout=subprocess.PIPE if capture else None, text=True, check=False)


def write_sheet(lab: str) -> None:
    err = ui.err()
    path = sheet_path(lab)
    if path.exists():
        err.print(Text.assemble("Your sheet is already there: ", (str(path), "cmd"),
                                " (edit it; l runs the lab with it)."))
        return
    made = _labctl(["lab", lab, "--sheet"], capture=True)
    if made.returncode != 0:
        err.print(Text(f"labctl lab {lab} --sheet exited with status {made.returncode}",
                       style="fail"))
        return
    from labctl.fileio import atomic_write_text

    atomic_write_text(path, made.stdout)
    err.print(Text.assemble("Wrote ", (str(path), "cmd"), ": write down what you expect for each "
                            "server before you run the lab, then press l; the lab scores it."))


def run_lab(lesson: Lesson) -> None:
    lab = sheet_lab(lesson)
    predict = sheet_path(lab) if lab else None
    if predict is not None and predict.exists() and not _has_answers(predict):
        ui.err().print(Text(f"{predict} has no answers yet: the lab runs without it.",
                            style="muted"))
        predict = None
    elif predict is not None and not predict.exists():
        predict = None
    quiz_ui.run_lab(lesson, predict=predict)


# --- exercises ---------------------------------------------------------------------------------

def next_lines(workspace: str) -> list[str]:
    """What to type after an exercise is started: go to the copy, and check it on every save."""
    return [f"cd {workspace}", "labctl exercise check --watch"]


def start_exercise(name: str, progress: Progress) -> None:
    """Start ``name`` (labctl exercise start, as typed) unless it is started already; then the
    two lines to type next, either way."""
    err = ui.err()
    workspace = progress.exercise_record(name).get("workspace")
    if progress.exercise_state(name) in ("not started", "skipped") or not workspace \
            or not Path(workspace).is_dir():
        err.print(Text.assemble(("$ ", ""), (f"labctl exercise start {name}", "cmd")))
        if _labctl(["exercise", "start", name]).returncode != 0:
            return
        workspace = Progress.load().exercise_record(name).get("workspace")
        if not workspace:
            return
    else:
        err.print(Text.assemble(f"{name} is {progress.exercise_state(name)}; your copy is ",
                                (exerciselib.display(Path(workspace)), "cmd")))
    err.print(Text("Next, in another terminal (or after q):", style="label"))
    for line in next_lines(exerciselib.display(Path(workspace))):
        err.print(Text.assemble("  ", (line, "cmd")), soft_wrap=True)


def _choose_exercise(exercises: list[tuple[str, str]]) -> str | None:
    """The exercise ``e`` means: the lesson's only one, or the number typed next (the list on
    the lesson's screen is numbered)."""
    if len(exercises) == 1:
        return exercises[0][0]
    answer = quiz_ui.ask(f"Which exercise? (1-{len(exercises)}, Enter to go back): ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(exercises):
        return exercises[int(answer) - 1][0]
    return None


# --- the menu ----------------------------------------------------------------------------------

def run(actions: MenuActions) -> None:
    """Lessons with their progress; for the chosen one, every step of it one key away."""
    try:
        _lessons_loop(actions)
    except (quiz_ui.QuizStopped, KeyboardInterrupt):
        ui.err().print("bye")


def _lessons_loop(actions: MenuActions) -> None:
    err = ui.err()
    while True:
        lessons = actions.load_lessons()
        progress = actions.load_progress()
        moment = now()
        statuses = {lesson.id: progress.lesson_status(lesson, moment) for lesson in lessons}
        due = sum(status.due for status in statuses.values())
        err.print()
        err.print(Text("labctl — lessons", style="label"))
        err.print(quiz_ui.lessons_table(lessons, statuses, numbered=True,
                                        exercise_states=exercise_states(lessons, progress)))
        review = f", r to review {due} due question{'s' if due != 1 else ''}" if due else ""
        answer = quiz_ui.ask(f"Choose a lesson by number{review}, h for help, q to quit: "
                             ).strip().lower()
        if answer in ("q", "quit", "exit"):
            return
        if answer in ("h", "help", "?"):
            err.print("Commands you can also run directly: labctl lessons, labctl show N, "
                      "labctl quiz N, labctl quiz --review, labctl next, labctl --help")
            continue
        if answer == "r" and due:
            actions.review(lessons, progress)
            continue
        if not answer:
            continue
        try:
            chosen = lessonlib.find(answer, lessons)
        except LabctlError as error:
            err.print(f"  {error.one_line()}")
            continue
        if _lesson_loop(chosen, lessons, actions) == "quit":
            return


def lesson_keys(lesson: Lesson, exercises: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(key, what it does) for one lesson, in the order a learner takes them."""
    keys = [("s", "show it")]
    lab = sheet_lab(lesson)
    if lab:
        keys.append(("p", "write your predictions"))
    if lesson.lab:
        keys.append(("l", "run its lab"))
    if exercises:
        keys.append(("e", "start an exercise" if len(exercises) > 1
                     else f"start exercise {exercises[0][0]}"))
    keys += [("t", "take its quiz"), ("b", "back"), ("q", "quit")]
    return keys


def key_lines(keys: list[tuple[str, str]], width: int) -> list[str]:
    """The keys on as few lines as ``width`` allows, never one split in two ("q" / "quit")."""
    lines = [""]
    for key, what in keys:
        item = f"{key} {what}"
        joined = f"{lines[-1]} · {item}" if lines[-1] else item
        if len(joined) > width and lines[-1]:
            lines.append(item)
        else:
            lines[-1] = joined
    return lines


def _lesson_loop(chosen: Lesson, lessons: list[Lesson], actions: MenuActions) -> str:
    err = ui.err()
    while True:
        progress = actions.load_progress()
        status = progress.lesson_status(chosen, now())
        exercises = exercise_states([chosen], progress).get(chosen.id, [])
        err.print()
        err.print(Text.assemble((f"{chosen.number} · {chosen.title}", "label"),
                                f" — {status.state}"))
        if exercises:
            _print_exercises(exercises, progress)
        keys = lesson_keys(chosen, exercises)
        for line in key_lines(keys, err.width):
            err.print(Text(line))
        answer = quiz_ui.ask("> ").strip().lower()
        if answer in ("q", "quit"):
            return "quit"
        if answer in ("b", "back", ""):
            return "back"
        if answer == "s":
            quiz_ui.render_lesson(chosen, status)
            quiz_ui.ask("(Enter to return to the menu) ")
        elif answer == "p" and sheet_lab(chosen):
            write_sheet(sheet_lab(chosen) or "")
        elif answer == "l" and chosen.lab:
            run_lab(chosen)
        elif answer == "e" and exercises:
            name = _choose_exercise(exercises)
            if name:
                start_exercise(name, progress)
        elif answer == "t":
            actions.take_quiz(chosen, lessons, progress)
        else:
            err.print("  please answer " + ", ".join(key for key, _ in keys[:-1])
                      + " or " + keys[-1][0])


def _print_exercises(exercises: list[tuple[str, str]], progress: Progress) -> None:
    """A lesson's exercises, numbered (what ``e`` takes), your state in each, and for one
    started the command that checks your copy."""
    from labctl.results.learning_render import EXERCISE_STYLE

    err = ui.err()
    width = max(len(name) for name, _ in exercises)
    for number, (name, state) in enumerate(exercises, 1):
        prefix = f"  {number}  " if len(exercises) > 1 else "  "
        err.print(Text.assemble(f"{prefix}{name:<{width}}  ", (state, EXERCISE_STYLE[state])))
        workspace = progress.exercise_record(name).get("workspace")
        if state not in ("not started", "skipped"):
            command = (f"cd {workspace} && labctl exercise check" if workspace
                       else f"labctl exercise check {name}")
            # A path to copy: the terminal may wrap it, Rich must not break it.
            err.print(Text.assemble(" " * len(prefix), (command, "cmd")), soft_wrap=True)
