"""The terminal side of lessons and the quiz: Rich rendering and line-by-line prompting.

Prompts and questions are written to stderr and read with ``input()``, so stdout carries only
results (a lesson shown, a score) and everything works the same under a pty in the tests.
Meaning never rides on colour alone: marks are ``[x]``/``[ ]``, results say "correct"/"wrong".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from fsrs import Rating
from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from labctl import servers, ui
from labctl.learning import answer_units as units
from labctl.learning import quiz as quizlib
from labctl.learning.lessons import LETTERS, Item, Lesson, Prompt
from labctl.learning.progress import RATING_NAMES, LessonStatus
from labctl.results import learning_render
from labctl.results.learning_render import STATE_STYLE, human_date

if TYPE_CHECKING:
    from rich.console import Group
    from rich.panel import Panel

    from labctl.results.documents import LessonStatusRow


# Code colours from the terminal's own 16-colour palette (so they follow its light or dark
# theme), minus yellow strings, which vanish on a white background.
# (Built on first use: Markdown and Pygments cost ~50 ms to import, and `labctl lessons` needs
# neither.)
@cache
def code_theme():
    from pygments.token import Token
    from rich.style import Style
    from rich.syntax import ANSI_LIGHT, ANSISyntaxTheme

    styles = dict(ANSI_LIGHT)
    styles[Token.Literal.String] = Style(color="green")
    styles[Token.Name.Function] = Style(color="blue", bold=True)
    return ANSISyntaxTheme(styles)

LEXERS = {".go": "go", ".py": "python", ".rs": "rust", ".js": "javascript", ".mjs": "javascript",
          ".ts": "typescript", ".toml": "toml", ".json": "json", ".mod": "text", ".txt": "text"}

END_OF_ANSWER = "."
RATING_KEYS = {"1": Rating.Again, "2": Rating.Hard, "3": Rating.Good, "4": Rating.Easy,
               "a": Rating.Again, "h": Rating.Hard, "g": Rating.Good, "e": Rating.Easy,
               "again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}


class QuizStopped(Exception):
    """The learner left (Ctrl-C or end of input) in the middle of a session."""


# --- input ---------------------------------------------------------------------------------------

def _enable_line_editing() -> None:
    try:
        import readline  # noqa: F401  (arrow keys and history in input())
    except ImportError:
        pass


def ask(prompt: str, console: Console | None = None) -> str:
    """One line from the learner; the prompt goes to stderr."""
    console = console or ui.err()
    try:
        return console.input(prompt)
    except (EOFError, KeyboardInterrupt):
        console.print()
        raise QuizStopped() from None


def ask_choice(prompt: str, accepted: Mapping[str, object], console: Console | None = None):
    """Ask until the answer is one of ``accepted``'s keys (case-insensitive)."""
    console = console or ui.err()
    while True:
        answer = ask(prompt, console).strip().lower()
        if answer in accepted:
            return accepted[answer]
        console.print(f"  please answer one of: {', '.join(k for k in accepted if len(k) == 1)}")


def confirm(question: str, default: bool, console: Console | None = None) -> bool:
    suffix = " [Y/n] " if default else " [y/N] "
    answers = {"y": True, "yes": True, "n": False, "no": False, "": default}
    return bool(ask_choice(question + suffix, answers, console))


SKIP = ":skip"


def read_answer(prompt: Prompt, console: Console | None = None,
                edit: Callable[[str], str | None] | None = None) -> str | None:
    """A multi-line answer: lines until one holding only ".", ``:e`` for $EDITOR, ``:h`` for
    the hint, ``:skip`` to pass over the prompt on purpose (returns None). An empty answer is not
    accepted: writing something down is the point of a prompt."""
    console = console or ui.err()
    console.print(f'[muted]Write your answer. End with a line holding only "{END_OF_ANSWER}". '
                  f'Type :e to write it in your $EDITOR, :h for a hint, {SKIP} to skip it.[/muted]')
    lines: list[str] = []
    while True:
        line = ask("> ", console)
        command = line.strip()
        if command == END_OF_ANSWER:
            answer = "\n".join(lines).strip()
            if answer:
                return answer
            console.print(f"  write an answer first, then a line holding only \"{END_OF_ANSWER}\" "
                          f"(or {SKIP} to skip this prompt; a skipped prompt is not studied)")
            continue
        if command == SKIP:
            return None
        if command == ":h":
            console.print(Text.assemble(("hint: ", "label"), prompt.hint))
            continue
        if command == ":e":
            edited = (edit or _edit_in_editor)("\n".join(lines))
            if edited is None or not edited.strip():
                console.print("  the editor did not return an answer; keep typing here")
                continue
            console.print(Text(edited.strip(), style="muted"))
            return edited.strip()
        lines.append(line)


_EDITOR_MARKER = "# Write your answer above this line. Lines starting with # are ignored."


def _edit_in_editor(start: str) -> str | None:
    """Open $VISUAL or $EDITOR (vi by default) on a temporary file; None if that failed."""
    import os
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="labctl-answer-") as folder:
        path = os.path.join(folder, "answer.md")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"{start}\n\n{_EDITOR_MARKER}\n")
        try:
            completed = subprocess.run([*shlex.split(editor), path], check=False)
        except (OSError, ValueError) as exc:
            ui.err().print(f"  could not open the editor {editor!r} ({exc}); set $EDITOR")
            return None
        if completed.returncode != 0:
            ui.err().print(f"  the editor {editor!r} exited with status {completed.returncode}")
            return None
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


# --- a quiz session ------------------------------------------------------------------------------

def run_session(session: quizlib.Session, *, title: str, pass_mark: float,
                lesson: Lesson | None, out: Console | None = None, err: Console | None = None,
                edit: Callable[[str], str | None] | None = None) -> bool:
    """Ask every question of the session not yet answered, then the score and the missed items;
    returns passed."""
    _enable_line_editing()
    out = out or ui.out()
    err = err or ui.err()
    err.print(Rule(title, style="label"))
    prompts_total = sum(q.is_prompt for q in session.questions)
    items_total = len(session.questions) - prompts_total
    if session.done:
        err.print(Text(f"Resuming where you stopped: {len(session.done)} of {len(session.questions)} "
                       "already answered in this sitting (--restart starts over).", style="muted"))
    prompt_no = item_no = 0
    for question in session.questions:
        if question.is_prompt:
            prompt_no += 1
        else:
            item_no += 1
        if question.key in session.done:
            continue
        if question.is_prompt:
            _ask_prompt(session, question, f"Prompt {prompt_no} of {prompts_total}", err, edit)
        else:
            _ask_item(session, question, f"Question {item_no} of {items_total}", err)
    passed = session.finish(lesson, pass_mark)
    _print_score(session, pass_mark, passed, out)
    missed = session.missed()
    if missed:
        err.print()
        if confirm(f"Try the {len(missed)} missed question{'s' if len(missed) != 1 else ''} again? "
                   "(practice: your first answer is the one that counts)", True, err):
            for number, question in enumerate(missed, 1):
                _ask_item(session, question, f"Second try {number} of {len(missed)}", err, retry=True)
            out.print(f"Second try: {session.retry_correct}/{session.retried} correct.")
    return passed


def _lesson_tag(question: quizlib.Question, session: quizlib.Session) -> str:
    lessons = {q.lesson.id for q in session.questions}
    return f" · {question.lesson.number} {question.lesson.title}" if len(lessons) > 1 else ""


def _ask_prompt(session, question, heading, err, edit) -> None:
    prompt: Prompt = question.question
    err.print()
    err.print(Text(heading + _lesson_tag(question, session), style="label"))
    err.print(prompt.text)
    answer = read_answer(prompt, err, edit)
    if answer is None:
        session.skip_prompt(question)
        err.print(Text("skipped: this prompt stays unstudied and is asked in your next sitting", style="muted"))
        return
    matches = quizlib.matched_keywords(prompt, answer)
    err.print()
    err.print(Text(f"Reference key points; [x] = your answer uses {quizlib.KEYWORDS_TO_MARK} or more of its "
                   "words.", style="label"))
    err.print(Text("This marking is a hint, not a grade: judge your answer yourself.", style="muted"))
    for point, found in zip(prompt.key_points, matches):
        err.print(key_point_line(point.text, found))
    rating = ask_choice("How well did you know it? 1 Again · 2 Hard · 3 Good · 4 Easy: ",
                        RATING_KEYS, err)
    session.rate_prompt(question, rating, answer)
    err.print(Text(f"rated {RATING_NAMES[rating]}", style="muted"))


def key_point_line(text: str, found: list[str]) -> Text:
    """``[x] point (matched: a, b)``; with fewer matches than it takes, the box stays empty and
    the words that did match are still named, so the learner sees what the mark rests on."""
    mark = len(found) >= quizlib.KEYWORDS_TO_MARK
    words = ", ".join(repr(word) for word in found)
    why = f"  (matched: {words})" if mark else (f"  (only {words} matched)" if found else "")
    return Text.assemble(("[x] " if mark else "[ ] ", "ok" if mark else ""), text, (why, "muted"))


def _what_to_type(item: Item) -> str:
    if item.kind == "choice":
        return f"a letter (a–{LETTERS[len(item.choices) - 1]}) or the text of a choice"
    if item.kind == "true_false":
        return "t or f"
    unit = quizlib.item_unit(item)
    if not item.unit:
        return "a number"
    return f"a number in {item.unit}, or with another unit of {units.describe(unit.dimension)} " \
           f"(e.g. {units.DIMENSIONS[unit.dimension][1]})"


def _ask_item(session, question, heading, err, retry: bool = False) -> None:
    item: Item = question.question
    order = session.order(question)
    err.print()
    err.print(Text(heading + _lesson_tag(question, session), style="label"))
    err.print(item.question)
    if item.kind == "choice":
        for position, index in enumerate(order):
            err.print(Text.assemble((f"  {LETTERS[position]}) ", "label"), item.choices[index]))
        prompt = f"Your answer (a–{LETTERS[len(item.choices) - 1]}, ? for a hint): "
    elif item.kind == "true_false":
        prompt = "True or false? (t/f, ? for a hint): "
    else:
        unit = f" in {item.unit}" if item.unit else ""
        prompt = f"Your answer{unit} (a number, ? for a hint): "
    hinted = False
    while True:
        raw = ask(prompt, err).strip()
        if not raw:
            err.print(f"  type {_what_to_type(item)}; ? for a hint, and ? again to see the answer")
            continue
        if raw == "?":
            if not hinted:
                hinted = True
                if item.hint:
                    err.print(Text.assemble(("hint: ", "label"), item.hint))
                else:
                    err.print(Text("no hint for this one", style="muted"))
                err.print(Text("(? again shows the answer, and counts as a wrong answer)", style="muted"))
                continue
            result = session.retry_give_up(question) if retry else session.give_up(question)
            break
        try:
            result = session.retry_item(question, raw) if retry else session.answer_item(question, raw)
            break
        except quizlib.InvalidAnswer as exc:
            err.print(f"  {exc}")
    if result.correct:
        err.print(Text.assemble(("correct", "ok"), f" — {result.given}" if item.kind == "numeric" else ""))
    else:
        given = f" (you answered {result.given})" if item.kind == "numeric" and result.given != "?" else ""
        err.print(Text.assemble(("wrong", "fail"), " — the answer is ",
                                (quizlib.answer_display(item, order), "label"), given))
    err.print(Text(item.explanation, style="muted"))


def _print_score(session: quizlib.Session, pass_mark: float, passed: bool, out: Console) -> None:
    out.print()
    if session.graded:
        verdict = Text("passed", style="ok") if passed else Text("below the pass mark", style="fail")
        out.print(Text.assemble(
            ("Score: ", "label"),
            f"{session.correct}/{session.graded} auto-graded questions correct "
            f"({session.score():.0%}); pass mark {pass_mark:.0%}: ", verdict))
    if session.prompt_results:
        several = len({result.question.lesson.id for result in session.prompt_results}) > 1
        ratings = ", ".join(
            f"{result.question.lesson.number + ' ' if several else ''}"
            f"prompt {result.question.prompt.number} "
            + ("skipped" if result.rating is None else
               f"{RATING_NAMES[result.rating]} ({result.touched}/{result.of} points touched)")
            for result in session.prompt_results)
        out.print(Text.assemble(("Prompts (self-rated): ", "label"), ratings))


def next_review_line(progress, lessons: list[Lesson], moment: datetime) -> str | None:
    upcoming = []
    for lesson in lessons:
        for question in lesson.questions():
            due = progress.view(lesson.id, question).due_at()
            if due is not None and due > moment:
                upcoming.append(due)
    if not upcoming:
        return None
    first = min(upcoming)
    same_day = sum(1 for due in upcoming if due.astimezone().date() == first.astimezone().date())
    return (f"Next review: {same_day} question{'s' if same_day != 1 else ''} due "
            f"{human_date(first, moment)} — then run: labctl quiz --review")


# --- lessons: list and show ---------------------------------------------------------------------

def lessons_table(lessons: list[Lesson], statuses: dict[str, LessonStatus], *,
                  numbered: bool = False,
                  exercise_states: dict[str, list[tuple[str, str]]] | None = None) -> Table:
    """The lessons with their progress, drawn from their ``labctl.lessons/1`` rows (the one
    drawing of them: results/learning_render.py). ``numbered`` is kept for the menu's callers;
    the number column is always there."""
    return learning_render.lessons_table([
        status_json(lesson, statuses[lesson.id], (exercise_states or {}).get(lesson.id, []))
        for lesson in lessons])


def graded_table(graded: quizlib.FileGrade) -> Group:
    """An answers file graded, drawn from its ``labctl.quiz.grade/1`` document."""
    return learning_render.graded_table(graded.to_json())


def status_json(lesson: Lesson, status: LessonStatus,
                exercise_states: Sequence[tuple[str, str]] = ()) -> LessonStatusRow:
    return {
        "id": lesson.id, "title": lesson.title, "order": lesson.order, "summary": lesson.summary,
        "status": status.state, "studied": status.studied, "questions": status.total,
        "prompts": len(lesson.prompts), "items": len(lesson.items), "due_now": status.due,
        "last_score": status.last_score,
        "next_due": status.next_due.isoformat(timespec="seconds") if status.next_due else None,
        "exercises": [{"name": name, "status": state} for name, state in exercise_states],
    }


def render_lesson(lesson: Lesson, status: LessonStatus, console: Console | None = None, *,
                  code: bool = False, withheld: Mapping[Path, str] | None = None) -> None:
    """The lesson: prose, then the demo (snippets always; the servers' full source files only with
    ``code``; ``withheld`` maps files that hold an exercise's answer to that exercise, and those
    are named, not printed), the try-it list, the lab and the prompts. In a terminal, output
    longer than the screen goes through a pager (less, or $PAGER) so the prose does not scroll
    away."""
    console = console or ui.out()
    withheld = withheld or {}
    if console.is_terminal:
        rendered = _rendered_lines(
            lambda c: _render_lesson_body(lesson, status, c, code=code, withheld=withheld), console)
        if rendered > console.height:
            os.environ.setdefault("LESS", "-R -F -X")      # keep colours; quit if it fits
            with console.pager(styles=True):
                _render_lesson_body(lesson, status, console, code=code, withheld=withheld)
            return
    _render_lesson_body(lesson, status, console, code=code, withheld=withheld)


def _rendered_lines(render: Callable[[Console], None], console: Console) -> int:
    import io

    buffer = io.StringIO()
    render(Console(width=console.width, file=buffer, theme=ui.THEME, highlight=False))
    return buffer.getvalue().count("\n")


def _render_lesson_body(lesson: Lesson, status: LessonStatus, console: Console, *, code: bool,
                        withheld: Mapping[Path, str]) -> None:
    console.print(Rule(f"{lesson.number} · {lesson.title}", style="label"))
    console.print(Text(lesson.summary, style="muted"))
    if lesson.versions:
        console.print(Text.assemble(("Holds for: ", "label"), lesson.versions_line()))
    console.print(Text.assemble(("Progress: ", "label"), (status.state, STATE_STYLE[status.state]),
                                f" — {status.studied}/{status.total} questions studied",
                                f", {status.due} due now" if status.due else ""))
    console.print()
    from labctl.learning.lesson_markdown import LessonMarkdown

    console.print(LessonMarkdown(lesson.body, code_theme=code_theme(),
                                 inline_code_theme=code_theme()))
    _render_demo(lesson, console, code=code, withheld=withheld)
    _render_try_it(lesson, console)
    if lesson.lab:
        console.print()
        console.print(Rule("The lab", style="label", align="left"))
        commands = " then ".join(f"labctl {' '.join(argv)}" for argv in lesson.lab.commands)
        description = f" — {lesson.lab.description}" if lesson.lab.description else ""
        console.print(Text.assemble((commands, "cmd"), description), soft_wrap=True)
        for name in lesson.lab.exercises:
            console.print(Text.assemble("Exercise: change a server until it behaves: ",
                                        (f"labctl exercise start {name}", "cmd")), soft_wrap=True)
    console.print()
    console.print(Rule("Three prompts, in order", style="label", align="left"))
    console.print("Use them in this order, each builds on the one before: paste them into an AI "
                  "assistant, or answer them yourself in the quiz.")
    for prompt in lesson.prompts:
        console.print(Text.assemble((f"{prompt.number}. ", "label"), prompt.text))
    console.print()
    console.print(Text.assemble("Next: ", (f"labctl quiz {lesson.number}", "cmd"),
                                " to test yourself · ", (f"labctl show {lesson.number} --prompts", "cmd"),
                                " for text to paste"))


def _render_demo(lesson: Lesson, console: Console, *, code: bool = False,
                 withheld: Mapping[Path, str] | None = None) -> None:
    demo = lesson.demo
    if not (demo.servers or demo.files or demo.snippets):
        return
    console.print()
    console.print(Rule("The demo", style="label", align="left"))
    if demo.intro:
        console.print(demo.intro)
    from labctl import paths

    shown = [(servers.get(name).source_dir / servers.get(name).source_file, servers.get(name).title)
             for name in demo.servers]
    shown += [(paths.servers_dir() / name, "") for name in demo.files]
    for snippet in demo.snippets:
        console.print(_code_panel(snippet.code, snippet.language, f"{snippet.title} (illustration)"))
    if not shown:
        return
    names = [f"servers/{path.relative_to(paths.servers_dir()).as_posix()}" for path, _ in shown]
    if not code:
        console.print(Text.assemble("The source files: ", ", ".join(names), " — ",
                                    (f"labctl show {lesson.number} --code", "cmd"), " prints them here."),
                      soft_wrap=True)
        return
    for (path, label), relative in zip(shown, names):
        title = f"{label} — {relative}" if label else relative
        exercise = (withheld or {}).get(path.resolve())
        if exercise:
            console.print(Text.assemble(
                (f"{title}: ", "label"), f"not shown: it holds the answer to exercise {exercise}, which "
                "you have not passed yet. See it anyway: ",
                (f"labctl exercise solution {exercise} --force", "cmd"),
                " (or ask for its last hint: ", (f"labctl exercise hint {exercise}", "cmd"), ")"),
                soft_wrap=True)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            console.print(Text.assemble((f"{title}: ", "label"), ("not there yet in this copy of labctl", "warn")))
            continue
        console.print(_code_panel(text, LEXERS.get(path.suffix, "text"), title))


def _code_panel(code: str, lexer: str, title: str) -> Panel:
    from rich.panel import Panel
    from rich.syntax import Syntax

    syntax = Syntax(code.rstrip("\n"), lexer, theme=code_theme(), line_numbers=True,
                    background_color="default", word_wrap=True)
    return Panel(syntax, title=title, title_align="left", border_style="label", expand=True)


def _render_try_it(lesson: Lesson, console: Console) -> None:
    console.print()
    console.print(Rule("Try it", style="label", align="left"))
    for number, step in enumerate(lesson.try_it, 1):
        console.print(Text.assemble((f"{number}. ", "label"), ("$ ", ""), (step.command, "cmd")),
                      soft_wrap=True)
        console.print(Text("   " + step.what_to_notice))


def items_plain(lesson: Lesson) -> str:
    """Every auto-graded item with its choices lettered in FILE order: the letters an answers file
    uses. No answers are printed. (The interactive quiz shuffles choices in every sitting.)"""
    parts = [f"Lesson {lesson.number}: {lesson.title} — {len(lesson.items)} auto-graded items",
             "Choices are lettered in file order, as an answers file names them "
             "(labctl quiz --answers; lessons/FORMAT.md).", ""]
    for number, item in enumerate(lesson.items, 1):
        kind = {"choice": "choice", "true_false": "true or false",
                "numeric": f"number{' in ' + item.unit if item.unit else ''}"}[item.kind]
        parts.append(f"{number}. [{item.id}] ({kind}) {' '.join(item.question.split())}")
        for index, choice in enumerate(item.choices):
            parts.append(f"   {LETTERS[index]}) {' '.join(choice.split())}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def _versions_sentence(lesson: Lesson) -> str:
    return (f"Answer for these versions: {lesson.versions_line()}; say so where a newer or older "
            "version behaves differently." if lesson.versions else "")


def prompts_plain(lesson: Lesson) -> str:
    """The three prompts as plain text, ready to paste into an AI assistant, with the versions the
    lesson holds for (an assistant otherwise answers with whatever version it knows best)."""
    parts = [f"Lesson {lesson.number}: {lesson.title}",
             "Use these three prompts in order; each builds on the one before."]
    if lesson.versions:
        parts.append(_versions_sentence(lesson))
    parts.append("")
    for prompt in lesson.prompts:
        parts.append(f"{prompt.number}. {' '.join(prompt.text.split())}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


CHECK_PLACEHOLDER = "<paste your answer here>"


def prompts_check_plain(lesson: Lesson) -> str:
    """For each prompt, a text to paste into an AI assistant together with the learner's own
    answer: the question, the versions, and the key points as the rubric. labctl makes no network
    call; the learner pastes it wherever they like."""
    rule = "-" * 72
    parts = [f"Lesson {lesson.number}: {lesson.title} — check my answer",
             f"One text per prompt. Replace {CHECK_PLACEHOLDER} with your own answer, then paste the "
             "whole text into an AI assistant.", ""]
    for prompt in lesson.prompts:
        parts += [rule, f"Prompt {prompt.number} of {len(lesson.prompts)}", rule,
                  "I am learning how HTTP servers behave, and I answered the question below. Mark my "
                  "answer against the rubric: for each point, say whether my answer gets it right, "
                  "gets it partly or wrongly, or misses it, quoting my words. Then say what is "
                  "missing or wrong overall, and ask me one follow-up question that tests whether I "
                  "understood, without giving its answer. Do not rewrite my answer for me."]
        if lesson.versions:
            parts.append(_versions_sentence(lesson))
        parts += ["", f"Question: {' '.join(prompt.text.split())}", "",
                  "Rubric (what a good answer says):"]
        parts += [f"- {' '.join(point.text.split())}" for point in prompt.key_points]
        parts += ["", "My answer:", CHECK_PLACEHOLDER, ""]
    return "\n".join(parts).rstrip() + "\n"


# --- the lab ----------------------------------------------------------------------------------

def run_lab(lesson: Lesson, console: Console | None = None, *, predict=None) -> int:
    """Run the lesson's lab commands as ``python -m labctl ...``, stopping at the first failure;
    ``predict``: the learner's prediction sheet, given to its ``labctl lab`` command."""
    console = console or ui.err()
    if not lesson.lab:
        console.print("This lesson has no lab; its try-it list is in labctl show.")
        return 0
    for argv in lesson.lab.commands:
        if predict is not None and argv[0] == "lab":
            argv = (*argv, "--predict", str(predict))
        console.print(Text.assemble(("$ ", ""), (f"labctl {' '.join(argv)}", "cmd")))
        try:
            status = subprocess.run([sys.executable, "-m", "labctl", *argv], env=os.environ.copy()).returncode
        except KeyboardInterrupt:
            console.print("lab interrupted")
            return 130
        except OSError as exc:
            console.print(Text(f"could not start labctl {' '.join(argv)}: {exc}", style="fail"))
            return 1
        if status != 0:
            console.print(Text(f"labctl {' '.join(argv)} exited with status {status}", style="fail"))
            return status
    return 0
