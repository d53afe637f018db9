"""Lessons, prompts and the quiz: ``labctl lessons``, ``show``, ``next``, ``quiz`` and the menu."""

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from labctl import ui
from labctl.commands.group import command_group
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.lazy import lazy_module
from labctl.learning import DEFAULT_PASS_MARK

if TYPE_CHECKING:
    from labctl.learning import lessons as lessonlib
    from labctl.learning import menu, quiz_ui
    from labctl.learning import progress as progresslib
    from labctl.learning import quiz as quizlib
    from labctl.learning.lessons import Lesson
    from labctl.learning.progress import Progress
    from labctl.results.documents import LessonFault, LessonsCheckDocument, LessonsDocument, NextAdvice, NextDocument
else:
    # Loaded when a command uses them, not for `labctl --help`: the lesson schema, the quiz and
    # FSRS, Markdown and Pygments cost more than the rest of start-up together.
    lessonlib = lazy_module("labctl.learning.lessons")
    menu = lazy_module("labctl.learning.menu")
    progresslib = lazy_module("labctl.learning.progress")
    quizlib = lazy_module("labctl.learning.quiz")
    quiz_ui = lazy_module("labctl.learning.quiz_ui")

JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
LESSON_HELP = "A lesson: its id, its number (3 or 003) or the start of its name (bottleneck)."

lessons_app = command_group(
    help="List the lessons with your progress; `lessons check` validates them.",
    no_args_is_help=False, add_completion=False)


def register(app: typer.Typer) -> None:
    app.add_typer(lessons_app, name="lessons")
    app.command("show")(show)
    app.command("next")(next_step)
    app.command("quiz")(quiz)


# --- shared steps ----------------------------------------------------------------------------

def load_lessons(*, quiet: bool = False) -> "list[Lesson]":
    """The lessons that load; each broken one is named in a warning (``lessons check`` fails)."""
    lessons, problems = lessonlib.load_all()
    if problems and not quiet:
        for problem in problems:
            ui.warn(f"skipped a broken lesson: {problem.one_line()}")
        ui.warn("run `labctl lessons check` to see every fault")
    if not lessons:
        raise EnvironmentProblem(f"no usable lessons in {lessonlib.lessons_root()}",
                                 "Run `labctl lessons check` to see why")
    return lessons


def load_progress() -> "Progress":
    progress = progresslib.Progress.load()
    for warning in progress.warnings:
        ui.warn(warning)
    progress.warnings.clear()
    return progress


def exercise_states(lessons: "list[Lesson]", progress: "Progress") -> dict[str, list[tuple[str, str]]]:
    return menu.exercise_states(lessons, progress)


def _pass_mark(value: float) -> float:
    if 0 <= value <= 1:
        return value
    if 1 < value <= 100:
        return value / 100
    raise LabctlError(f"--pass-mark {value:g} is out of range", "Give a fraction (0.7) or a percentage (70)",
                      exit_code=2)


# --- labctl lessons ------------------------------------------------------------------------------

@lessons_app.callback(invoke_without_command=True)
def lessons_list(ctx: typer.Context, json_out: bool = JsonOption) -> None:
    """List the lessons with your progress: new, in progress or done, and questions due for review."""
    if ctx.invoked_subcommand is not None:
        return
    lessons = load_lessons(quiet=json_out)
    progress = load_progress()
    moment = progresslib.now()
    statuses = {lesson.id: progress.lesson_status(lesson, moment) for lesson in lessons}
    exercises = exercise_states(lessons, progress)
    document: LessonsDocument = {
        "schema": "labctl.lessons/1",
        "lessons": [quiz_ui.status_json(lesson, statuses[lesson.id], exercises.get(lesson.id, []))
                    for lesson in lessons],
        "due_now": sum(s.due for s in statuses.values())}
    if json_out:
        ui.print_json_document(document)
        return
    from labctl.results import learning_render

    ui.out().print(learning_render.lessons(document))
    _print_next_hint(lessons, statuses, exercises)


@lessons_app.command("check")
def lessons_check(
    directory: Optional[Path] = typer.Option(None, "--dir", help="Check the lessons in this folder instead.",
                                             file_okay=False, show_default=False),
    json_out: bool = JsonOption,
) -> None:
    """Validate every lesson against lessons/FORMAT.md; exit status 2 on a fault.

    Warnings alone do not fail."""
    from labctl.learning import lesson_rules

    folder = directory or lessonlib.lessons_root()
    files = lessonlib.lesson_files(folder)
    good, problems = lessonlib.load_all(folder)
    findings = lesson_rules.check(good)
    faults = [f for f in findings if f.severity == "fault"]
    warnings = [f for f in findings if f.severity == "warning"]
    faulty = {f.file for f in faults}
    document: LessonsCheckDocument = {
        "schema": "labctl.lessons.check/1",
        "directory": str(folder),
        "ok": not problems and not faults and bool(good),
        "lessons": [{"id": lesson.id, "file": lesson.display_path, "prompts": len(lesson.prompts),
                     "items": len(lesson.items), "ok": lesson.display_path not in faulty,
                     "kinds": dict(Counter(item.kind for item in lesson.items)),
                     "skills": dict(Counter(item.skill for item in lesson.items))}
                    for lesson in good],
        "faults": [_fault(p.file, p.where, p.problem, p.one_line()) for p in problems]
                  + [_fault(f.file, f.where, f.message, f.one_line()) for f in faults],
        "warnings": [_fault(f.file, f.where, f.message, f.one_line()) for f in warnings],
    }
    if json_out:
        ui.print_json_document(document)
    else:
        from labctl.results import learning_render

        # crop=False: a fault's line is never cut, however long its path (it is to be copied).
        ui.out().print(learning_render.lessons_check(document), crop=False)
        items = sum(len(lesson.items) for lesson in good)
        ui.info(f"{len(good) - len(faulty)} lesson(s) pass, {len(problems) + len(faulty)} with faults, "
                f"{len(warnings)} warning(s), {items} auto-graded items in {folder}")
    if not files:
        raise EnvironmentProblem(f"no lesson files in {folder}", "Lesson files are named NNN-slug.md")
    if problems or faults:
        raise typer.Exit(2)


def _fault(file: str, field: str | None, problem: str, message: str) -> "LessonFault":
    return {"file": file, "field": field, "problem": problem, "message": message}


def _print_next_hint(lessons: "list[Lesson]", statuses, exercises) -> None:
    advice = _advice(lessons, statuses, exercises)
    ui.info(f"next: {advice['command']}  ({advice['why']})")


# --- labctl show ---------------------------------------------------------------------------------

def show(
    lesson: str = typer.Argument(..., help=LESSON_HELP, show_default=False),
    prompts: bool = typer.Option(False, "--prompts", help="Print only the three prompts, as plain text "
                                                          "ready to paste into an AI assistant."),
    items: bool = typer.Option(False, "--items", help="Print only the auto-graded items, choices "
                                                      "lettered in file order (the letters an answers "
                                                      "file uses), without answers."),
    code: bool = typer.Option(False, "--code", help="Also print the servers' source files the lesson "
                                                    "shows (not those that hold the answer to an "
                                                    "exercise you have not passed)."),
    check: bool = typer.Option(False, "--check", help="With --prompts: for each prompt, a text to paste "
                                                      "into an AI assistant with your answer, the "
                                                      "versions and the key points as the rubric."),
) -> None:
    """Show a lesson: the why, its demo, the try-it list and the prompts (paged in a terminal)."""
    if prompts and items:
        raise LabctlError("--prompts and --items do not go together", "Use one of them", exit_code=2)
    if check and not prompts:
        raise LabctlError("--check goes with --prompts", "e.g. labctl show 7 --prompts --check", exit_code=2)
    chosen = lessonlib.find(lesson, load_lessons())
    if prompts or items:
        text = (quiz_ui.prompts_check_plain(chosen) if check else quiz_ui.prompts_plain(chosen)) if prompts \
            else quiz_ui.items_plain(chosen)
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    progress = load_progress()
    quiz_ui.render_lesson(chosen, progress.lesson_status(chosen, progresslib.now()), code=code,
                          withheld=withheld_solutions(chosen, progress) if code else None)


def withheld_solutions(lesson: "Lesson", progress: "Progress") -> dict:
    """The shown files that hold the answer to one of the lesson's exercises not yet passed."""
    from labctl.learning import exercises

    return exercises.spoilers(lesson.lab.exercises, progress) if lesson.lab else {}


# --- labctl next ---------------------------------------------------------------------------------

def next_step(
    json_out: bool = JsonOption,
    skip: bool = typer.Option(False, "--skip", help="Skip the exercise `labctl next` offers (it stays "
                                                    "listed as skipped; `labctl exercise start NAME` "
                                                    "takes it up again) and say what comes after it."),
) -> None:
    """Say what to do next: due reviews, the next lesson, or an exercise to try.

    Exercises are offered, never forced: --skip passes over one."""
    lessons = load_lessons(quiet=json_out)
    progress = load_progress()
    moment = progresslib.now()
    statuses = {lesson.id: progress.lesson_status(lesson, moment) for lesson in lessons}
    advice = _advice(lessons, statuses, exercise_states(lessons, progress))
    skipped = None
    if skip:
        if advice.get("action") != "exercise":
            raise LabctlError("there is no exercise to skip: labctl next offers "
                              f"'{advice['command']}'", "--skip passes over an exercise only", exit_code=2)
        skipped = advice["exercise"]
        progress.update_exercise(skipped, skipped=True)
        advice = _advice(lessons, statuses, exercise_states(lessons, progress))
    document: NextDocument = {"schema": "labctl.next/1", **advice}
    if skipped:
        document["skipped"] = skipped
    if json_out:
        ui.print_json_document(document)
        return
    from labctl.results import learning_render

    ui.out().print(learning_render.next_step(document, now=progresslib.now()))


def _advice(lessons: "list[Lesson]", statuses, exercises: dict[str, list[tuple[str, str]]]) -> "NextAdvice":
    return menu.advice(lessons, statuses, exercises)


# --- labctl quiz ---------------------------------------------------------------------------------

def quiz(
    lesson: Optional[str] = typer.Argument(None, help=LESSON_HELP + " Without it: asks which.",
                                           show_default=False),
    review: bool = typer.Option(False, "--review", help="Ask only the questions due for review, across "
                                                        "lessons (or in LESSON)."),
    answers: Optional[Path] = typer.Option(None, "--answers", metavar="FILE",
                                           help="Grade a TOML/JSON file of answers (item id = answer) "
                                                "instead of asking; - reads standard input.",
                                           dir_okay=False, show_default=False),
    json_out: bool = typer.Option(False, "--json", help="With --answers: print one JSON document on "
                                                        "stdout and nothing else."),
    pass_mark: float = typer.Option(DEFAULT_PASS_MARK, "--pass-mark",
                                    help="Fraction (0.7) or percentage (70) of auto-graded questions "
                                         "to get right; exit status 1 below it."),
    no_record: bool = typer.Option(False, "--no-record", help="Do not update your progress."),
    reset: bool = typer.Option(False, "--reset", help="Forget your progress in LESSON (or in every "
                                                      "lesson); asks first."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --reset: do not ask for confirmation."),
    restart: bool = typer.Option(False, "--restart", help="Start the lesson's quiz from the first "
                                                          "question instead of resuming an interrupted one."),
    print_items: bool = typer.Option(False, "--print", help="Print LESSON's auto-graded items, choices "
                                                            "lettered as an answers file names them, and exit."),
) -> None:
    """Take a lesson's quiz: its three prompts (self-rated), then auto-graded questions.

    Each question is a spaced-repetition card; `--review` asks what is due.

    Without a terminal, grade a file of answers with `--answers FILE` (format: lessons/FORMAT.md).
    """
    mark = _pass_mark(pass_mark)
    if sum([review, answers is not None, reset, print_items]) > 1:
        raise LabctlError("--review, --answers, --reset and --print do not go together", "Use one of them",
                          exit_code=2)
    if print_items:
        if not lesson:
            raise LabctlError("--print needs a lesson", "e.g. labctl quiz 003 --print", exit_code=2)
        sys.stdout.write(quiz_ui.items_plain(lessonlib.find(lesson, load_lessons())))
        sys.stdout.flush()
        return
    if json_out and answers is None:
        raise LabctlError("--json goes with --answers FILE", "The interactive quiz has no JSON output",
                          exit_code=2)
    if reset:
        _reset(lesson, yes)
        return
    if answers is not None:
        _grade_answers_file(lesson, answers, mark, json_out=json_out, record=not no_record)
        return
    if not sys.stdin.isatty():
        example = lesson or "000"
        raise EnvironmentProblem(
            "labctl quiz asks its questions in a terminal, and standard input is not one",
            f"To grade without a terminal: labctl quiz {example} --answers FILE [--json] "
            "(file format in lessons/FORMAT.md)")
    lessons = load_lessons()
    progress = load_progress()
    if review:
        _review(lessons, progress, lesson, mark, record=not no_record)
        return
    chosen = lessonlib.find(lesson, lessons) if lesson else _choose_lesson(lessons, progress)
    if chosen is None:
        return
    run_quiz(chosen, lessons, progress, mark, record=not no_record, restart=restart)


def run_quiz(chosen: "Lesson", lessons: "list[Lesson]", progress: "Progress", mark: float, *,
             record: bool = True, restart: bool = False) -> bool:
    from labctl.learning.sittings import Sittings

    session = quizlib.Session(quizlib.lesson_questions(chosen), progress, mode="quiz", record=record,
                              sittings=Sittings() if record else None)
    if restart:
        session.restart()
    else:
        session.resume()
    title = f"Quiz · {chosen.number} {chosen.title} · {len(chosen.prompts)} prompts, {len(chosen.items)} questions"
    if chosen.versions:
        title += f" · for {chosen.versions_line()}"
    passed = _run(session, title, mark, chosen, lessons, progress)
    if not passed:
        raise typer.Exit(1)
    return passed


def _run(session, title, mark, lesson, lessons, progress) -> bool:
    try:
        passed = quiz_ui.run_session(session, title=title, pass_mark=mark, lesson=lesson)
    except (quiz_ui.QuizStopped, KeyboardInterrupt):
        answered = session.graded + len(session.prompt_results)
        resumable = session.sittings is not None and answered
        ui.err().print(f"quiz stopped after {answered} answer(s)"
                       + ("; those are saved in your progress" if session.record and answered else "")
                       + (f"; labctl quiz {lesson.number} resumes here" if resumable and lesson else ""))
        raise typer.Exit(130) from None
    line = quiz_ui.next_review_line(progress, lessons, progresslib.now())
    if line and session.record:
        ui.info(line)
    return passed


def _review(lessons, progress, lesson, mark, *, record: bool) -> None:
    scope = [lessonlib.find(lesson, lessons)] if lesson else lessons
    moment = progresslib.now()
    questions = quizlib.due_questions(scope, progress, moment)
    if not questions:
        where = f" in {scope[0].id}" if lesson else ""
        ui.out().print(f"Nothing is due for review{where} right now.")
        line = quiz_ui.next_review_line(progress, scope, moment)
        ui.info(line or "Take a lesson's quiz first: labctl quiz 000 (or labctl next)")
        return
    session = quizlib.Session(questions, progress, mode="review", record=record)
    count = len({q.lesson.id for q in questions})
    title = f"Review · {len(questions)} due question{'s' if len(questions) != 1 else ''} from " \
            f"{count} lesson{'s' if count != 1 else ''}"
    passed = _run(session, title, mark, None, lessons, progress)
    if not passed and session.graded:
        raise typer.Exit(1)


def _choose_lesson(lessons: "list[Lesson]", progress: "Progress") -> "Lesson | None":
    statuses = {lesson.id: progress.lesson_status(lesson, progresslib.now()) for lesson in lessons}
    ui.err().print(quiz_ui.lessons_table(lessons, statuses, numbered=True))
    suggestion = next((lesson for lesson in lessons if statuses[lesson.id].state != "done"), lessons[0])
    while True:
        try:
            answer = quiz_ui.ask(f"Which lesson? (number, Enter for {suggestion.number}, q to quit): ").strip()
        except quiz_ui.QuizStopped:
            return None
        if answer.lower() == "q":
            return None
        if not answer:
            return suggestion
        try:
            return lessonlib.find(answer, lessons)
        except LabctlError as error:
            ui.err().print(f"  {error.one_line()}")


def _grade_answers_file(lesson: str | None, path: Path, mark: float, *, json_out: bool, record: bool) -> None:
    if not lesson:
        raise LabctlError("--answers needs the lesson the answers are for",
                          "e.g. labctl quiz 003 --answers answers.toml", exit_code=2)
    chosen = lessonlib.find(lesson, load_lessons(quiet=json_out))
    text = sys.stdin.read() if str(path) == "-" else None
    answers = quizlib.read_answers_file(path, text)
    graded = quizlib.grade_file(chosen, answers, mark)
    not_saved = None
    if record:
        try:
            progress = progresslib.Progress.load()
            for warning in progress.warnings:
                ui.warn(warning)
            quizlib.record_file_grade(graded, progress)
        except EnvironmentProblem as problem:
            import json

            # Full disk, read-only data folder: the grade is still shown, and the answers are
            # printed whole so the learner can keep them and grade them again later.
            not_saved = problem
            problem.details = ("your answers, not saved (keep them in a file and grade them again "
                               "later with --answers FILE):\n"
                               + json.dumps(answers, indent=2, ensure_ascii=False, default=str))
    if json_out:
        ui.print_json_document(graded.to_json())
    else:
        _print_file_grade(graded)
    if graded.unknown_ids and not json_out:
        ui.warn(f"{len(graded.unknown_ids)} answer(s) for ids this lesson does not have: "
                + ", ".join(graded.unknown_ids))
    if graded.prompt_ids and not json_out:
        ui.warn("prompts are self-rated in the interactive quiz; not graded from a file: "
                + ", ".join(graded.prompt_ids))
    if not_saved is not None:
        raise not_saved
    if not graded.passed:
        raise typer.Exit(1)


def _print_file_grade(graded: "quizlib.FileGrade") -> None:
    from labctl.results import learning_render

    ui.out().print(learning_render.quiz_grade(graded.to_json()))


def _reset(lesson: str | None, yes: bool) -> None:
    progress = load_progress()
    chosen = lessonlib.find(lesson, load_lessons()) if lesson else None
    what = f"your progress in {chosen.id}" if chosen else "ALL your quiz progress, in every lesson"
    if not yes:
        if not sys.stdin.isatty():
            raise LabctlError(f"not resetting {what} without confirmation",
                              "Add --yes to reset without a terminal", exit_code=2)
        try:
            agreed = quiz_ui.confirm(f"Forget {what}?", False)
        except quiz_ui.QuizStopped:
            agreed = False
        if not agreed:
            ui.info("nothing was reset")
            return
    removed = progress.reset(chosen.id if chosen else None)
    ui.out().print(f"Reset {what}: {removed} card(s) forgotten.")


# --- the menu: `labctl` with no arguments, in a terminal -------------------------------------

def interactive_menu() -> None:
    """Lessons with their progress; for the chosen one, each step one key (learning/menu.py)."""
    menu.run(menu.MenuActions(
        load_lessons=load_lessons, load_progress=load_progress,
        take_quiz=lambda chosen, lessons, progress: _menu_action(
            lambda: run_quiz(chosen, lessons, progress, DEFAULT_PASS_MARK)),
        review=lambda lessons, progress: _menu_action(
            lambda: _review(lessons, progress, None, DEFAULT_PASS_MARK, record=True))))


def _menu_action(action) -> None:
    """Run a quiz from the menu: its exit status and errors must not leave the menu."""
    try:
        action()
    except typer.Exit:
        pass
    except LabctlError as error:
        ui.error_line(error.one_line())
