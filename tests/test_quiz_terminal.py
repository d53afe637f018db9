"""The quiz and the menu driven in a real terminal (a pty, through pexpect), start to score.

The sessions run on the fixture course (tests/assets/lessons/course) with LABCTL_QUIZ_SEED set, so
the choices are shuffled but repeatable; the test reads the letters off the screen, as a learner
would. One session goes through every prompt and item to the score (a hint, a revealed answer, a
unit converted, a wrong dimension refused), then "the next day" (LABCTL_NOW) a ``--review`` must
ask exactly what is due; another is interrupted and resumed.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from labctl.learning import lessons
from labctl.learning import progress as progresslib

pexpect = pytest.importorskip("pexpect")

# Terminal sessions that wait for each screen with timeouts: never beside another test.
pytestmark = pytest.mark.serial

ESC = r"(?:\x1b\[[0-9;?]*[a-zA-Z])*"   # Rich may wrap words in style codes even under NO_COLOR
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
COURSE = Path(__file__).parent / "assets" / "lessons" / "course"
LESSON = lessons.load_lesson(COURSE / "000-sample.md")
ITEMS = {item.id: item for item in LESSON.items}
ANSWER_PROMPT = r"\? for a hint\): "


def spawn(args: list[str], rows: int = 40, cwd: Path | None = None, **extra_env: str):
    env = os.environ.copy()
    env.update({"NO_COLOR": "1", "LABCTL_WIDTH": "100", "TERM": "xterm", "LABCTL_QUIZ_SEED": "11",
                "LABCTL_LESSONS_DIR": str(COURSE), "PAGER": "cat", **extra_env})
    child = pexpect.spawn(sys.executable, ["-m", "labctl", *args], env=env, encoding="utf-8",
                          timeout=60, dimensions=(rows, 100), cwd=cwd)
    child.logfile_read = io.StringIO()        # the whole transcript, for assertions at the end
    return child


def end_input(child, then, tries: int = 10) -> None:
    """Type Ctrl-D at a prompt until the program reacts with ``then``.

    readline drops what arrives before its first read, and on a loaded machine the prompt can be
    on the screen a moment before that read starts; a Ctrl-D that was dropped changed nothing,
    so sending it again is safe (no sleep guessing how long the start takes).
    """
    for _ in range(tries):
        child.sendeof()
        if child.expect([then, pexpect.TIMEOUT], timeout=3) == 0:
            return
    raise AssertionError(f"Ctrl-D was never taken: {child.before[-500:]!r}")


def shown_choices(child) -> dict[str, str]:
    """letter → choice text, as printed above the answer prompt just matched."""
    screen = ANSI.sub("", child.before).replace("\r", "")
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^  ([a-h])\) (.+)$", screen, re.M)}


def answer(child, item: lessons.Item, right: bool = True) -> str:
    """What a learner who knows (or not) types for this item, reading the letters off the screen."""
    if item.kind == "choice":
        choices = shown_choices(child)
        assert sorted(choices.values()) == sorted(item.choices), choices
        wanted = item.choices[item.answer]
        return next(letter for letter, text in choices.items() if (text == wanted) == right)
    if item.kind == "true_false":
        return "t" if item.answer == right else "f"
    return f"{item.answer if right else item.answer * 3 + 7:g}"


@pytest.fixture
def fake_editor(tmp_path):
    script = tmp_path / "fake-editor.sh"
    script.write_text("#!/bin/sh\nprintf 'The handler is blocked, idle while the database works.\\n' > \"$1\"\n")
    script.chmod(0o755)
    return str(script)


def test_full_quiz_with_shuffled_choices_then_review_the_next_day(fake_editor):
    child = spawn(["quiz", "000"], EDITOR=fake_editor, VISUAL=fake_editor)
    child.expect(f"Quiz · 000 A sample lesson for the quiz engine's tests · 3 prompts, {len(LESSON.items)} questions")

    # Prompt 1 through $EDITOR.
    child.expect("Prompt 1 of 3")
    child.expect(":skip to skip it")
    child.sendline(":e")
    child.expect("This marking is a hint, not a grade")
    child.expect(r"\[x\] " + ESC + "The handler spends nearly all of its time waiting")
    child.expect(r"\[ \] " + ESC + "Concurrency, not a faster language")
    child.expect("1 Again · 2 Hard · 3 Good · 4 Easy: ")
    child.sendline("3")

    # Prompt 2: an empty answer is refused; the hint on request; then typed over two lines.
    child.expect("Prompt 2 of 3")
    child.expect("> ")
    child.sendline(".")
    child.expect("write an answer first")
    child.sendline(":h")
    child.expect("hint: " + ESC + "How many JavaScript threads")
    child.sendline("Everything else has to wait:")
    child.sendline("one thread runs the JavaScript.")
    child.sendline(".")
    child.expect(r"\[x\] " + ESC + "They queue behind it")
    child.expect(r"\[ \] " + ESC + "Worker threads or another process")
    child.expect("Easy: ")
    child.sendline("x")                                   # not a rating: asked again
    child.expect("please answer one of")
    child.sendline("h")                                   # Hard
    child.expect("rated Hard")

    # Prompt 3: skipped on purpose.
    child.expect("Prompt 3 of 3")
    child.expect("> ")
    child.sendline(":skip")
    child.expect("skipped: this prompt stays unstudied")

    total = len(LESSON.items)
    wrong_on_purpose = {"technique", "async-faster"}
    display_orders = []
    for number, item in enumerate(LESSON.items, 1):
        child.expect(f"Question {number} of {total}")
        child.expect(ANSWER_PROMPT)
        if item.kind == "choice":
            display_orders.append([text for _, text in sorted(shown_choices(child).items())])
        if item.id == "blocking-rps":
            child.sendline("")                            # empty Enter says what to type
            child.expect("type a number in req/s, or with another unit of a rate")
            child.sendline("?")                           # first ?: the hint, not the answer
            child.expect("hint: " + ESC + "How many 50 ms slices fit in one second")
            child.expect(r"\? again shows the answer")
            child.sendline("20/s")
            child.expect("correct" + ESC + " — 20 req/s")
        elif item.id == "sequential":
            child.sendline("0.08 s")                      # another unit of time, converted
            child.expect("correct" + ESC + r" — 0\.08 s = 80 ms")
        elif item.id == "buffer":
            child.sendline("100 ms")                      # a time for a size: asked again, not graded
            child.expect("that is a time; give a size")
            child.sendline("0.1 GB")
            child.expect(r"correct" + ESC + r" — 0\.1 GB = 100 MB")
        elif item.id == "event-loop":
            child.sendline("zz")                          # unreadable: asked again
            child.expect("is not one of the choices")
            child.sendline("?")
            child.expect("hint: " + ESC + "How many threads run JavaScript")
            child.sendline("?")                           # second ?: the answer, counted wrong
            child.expect("wrong" + ESC + " — the answer is " + ESC + r"[a-d]\) It waits until the loop")
        elif item.id in wrong_on_purpose:
            child.sendline(answer(child, item, right=False))
            child.expect("wrong" + ESC + " — the answer is")
        else:
            child.sendline(answer(child, item))
            child.expect("correct")
        # the explanation follows every answer, right or wrong
        child.expect(re.escape(item.explanation[:30]))
    # shuffled: at least one choice item is not shown in file order
    file_orders = [list(item.choices) for item in LESSON.items if item.kind == "choice"]
    assert display_orders != file_orders

    right = total - 3
    child.expect(rf"Score: {ESC}{right}/{total} auto-graded questions correct \({right / total:.0%}\); "
                 rf"pass mark 70%: {ESC}passed")
    child.expect(r"Prompts \(self-rated\): " + ESC + r"prompt 1 Good \(1/2 points touched\),\s+"
                 r"prompt 2 Hard \(1/2 points touched\),\s+prompt\s+3\s+skipped")
    child.expect(r"Try the 3 missed questions again\?")
    child.sendline("y")
    missed = [ITEMS["event-loop"], ITEMS["technique"], ITEMS["async-faster"]]
    for number, item in enumerate(missed, 1):
        child.expect(f"Second try {number} of 3")
        child.expect(ANSWER_PROMPT)
        child.sendline(answer(child, item))
        child.expect("correct")
    child.expect("Second try: 3/3 correct")
    child.expect("Next review: 4 questions due tomorrow")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    saved = json.loads(progresslib.progress_path().read_text())
    assert len(saved["cards"]) == total + 2                 # the skipped prompt is not studied
    assert "000-sample/three-calls" not in saved["cards"]
    assert saved["cards"]["000-sample/technique"]["last_rating"] == "Again"   # the first answer counts
    assert saved["cards"]["000-sample/event-loop"]["last_rating"] == "Again"  # revealed = wrong
    assert saved["cards"]["000-sample/blocked-loop"]["last_rating"] == "Hard"
    assert saved["lessons"]["000-sample"]["passed"] is True

    # The next day: the three missed items and the prompt rated Hard are due, nothing else.
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1, hours=1)).isoformat()
    review = spawn(["quiz", "--review"], LABCTL_NOW=tomorrow, LABCTL_QUIZ_SEED="5")
    review.expect(r"Review · 4 due questions from 1 lesson")
    review.expect("Prompt 1 of 1")
    review.expect("What happens to other requests")
    review.sendline("They queue: one thread.")
    review.sendline(".")
    review.expect("Easy: ")
    review.sendline("3")
    for number, item in enumerate(missed, 1):
        review.expect(f"Question {number} of 3")
        review.expect(re.escape(item.question[:40]))
        review.expect(ANSWER_PROMPT)
        review.sendline(answer(review, item))
        review.expect("correct")
    review.expect(rf"Score: {ESC}3/3 auto-graded questions correct \(100%\)")
    review.expect(pexpect.EOF)
    review.close()
    assert review.exitstatus == 0
    transcript = review.logfile_read.getvalue()
    assert "Prompt 2 of" not in transcript and "Question 4 of" not in transcript

    # Asked again the same day: nothing left.
    again = spawn(["quiz", "--review"], LABCTL_NOW=tomorrow)
    again.expect("Nothing is due for review right now")
    again.expect("Next review:")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


def test_an_interrupted_quiz_resumes_where_it_stopped():
    child = spawn(["quiz", "000"])
    for number in (1, 2, 3):
        child.expect(f"Prompt {number} of 3")
        child.expect("> ")
        child.sendline(":skip")
    for number, item in enumerate(LESSON.items[:4], 1):
        child.expect(f"Question {number} of {len(LESSON.items)}")
        child.expect(ANSWER_PROMPT)
        child.sendline(answer(child, item, right=number != 2))
    child.expect(f"Question 5 of {len(LESSON.items)}")
    child.expect(ANSWER_PROMPT)
    end_input(child, r"quiz stopped after 7 answer\(s\); those are saved in your progress; "
                     r"labctl quiz 000 resumes here")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    resumed = spawn(["quiz", "000"])
    resumed.expect(r"Resuming where you stopped: 7 of 13 already answered in this sitting \(--restart starts over\)")
    resumed.expect(f"Question 5 of {len(LESSON.items)}")
    for number, item in enumerate(LESSON.items[4:], 5):
        if number > 5:
            resumed.expect(f"Question {number} of {len(LESSON.items)}")
        resumed.expect(ANSWER_PROMPT)
        resumed.sendline(answer(resumed, item))
        resumed.expect("correct")
    total = len(LESSON.items)
    # the score is the whole sitting's: the wrong answer before the interruption still counts
    resumed.expect(rf"Score: {ESC}{total - 1}/{total} auto-graded questions correct")
    resumed.expect(r"Try the 1 missed question again\?")
    resumed.sendline("n")
    resumed.expect(pexpect.EOF)
    resumed.close()
    assert resumed.exitstatus == 0
    transcript = resumed.logfile_read.getvalue()
    assert "Prompt 1 of 3" not in transcript and "Question 1 of" not in transcript

    # Interrupted again, then --restart: from the first prompt.
    child = spawn(["quiz", "000"])
    child.expect("Prompt 1 of 3")
    child.expect("> ")
    child.sendline(":skip")
    child.expect("Prompt 2 of 3")
    child.expect("> ")
    end_input(child, pexpect.EOF)
    child.close()
    restarted = spawn(["quiz", "000", "--restart"])
    restarted.expect("Prompt 1 of 3")
    restarted.expect("> ")
    restarted.sendline(":h")                 # (readline drops what is typed before its first read)
    restarted.expect("hint: ")
    restarted.expect("> ")
    end_input(restarted, pexpect.EOF)
    restarted.close()
    assert "Resuming" not in restarted.logfile_read.getvalue()


def test_interactive_menu_shows_a_lesson_and_quits():
    child = spawn([])
    child.expect("labctl — lessons")
    child.expect("A second lesson")
    child.expect("Choose a lesson by number")
    child.sendline("1")
    child.expect("001 · A second lesson, so that the menu has a choice")
    child.expect("s show it · l run its lab · t take its quiz · b back · q quit")
    child.expect("> ")
    child.sendline("s")
    child.expect("More prose")
    child.expect("Try it")
    child.expect("labctl compare")
    child.expect(r"\(Enter to return to the menu\)")
    child.sendline("")
    child.expect("b back · q quit")
    child.sendline("b")
    child.expect("Choose a lesson by number")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_show_pages_a_long_lesson_in_a_terminal(tmp_path):
    """Longer than the screen: the lesson goes through $PAGER (here a script that keeps what it
    was given), and the servers' source only with --code."""
    kept = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ncat > {kept}\necho PAGER-RAN\n")
    pager.chmod(0o755)
    child = spawn(["show", "000"], rows=12, PAGER=str(pager))
    child.expect("PAGER-RAN")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    paged = ANSI.sub("", kept.read_text())
    assert "waiting is not working" in paged and "Three prompts" in paged
    # a short screen is not paged when the lesson fits: a tall terminal prints it directly
    tall = spawn(["show", "001"], rows=200, PAGER=str(pager))
    tall.expect("More prose")
    tall.expect(pexpect.EOF)
    tall.close()
    assert "PAGER-RAN" not in tall.logfile_read.getvalue()


def test_no_arguments_without_a_terminal_prints_help():
    from typer.testing import CliRunner

    from labctl.cli import app

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0
    assert "Usage" in result.stdout and "quiz" in result.stdout


def test_the_menu_lists_a_lessons_exercises_with_what_to_run():
    """The shipped lessons: lesson 003's lab names exercises; the menu shows them and their state."""
    from labctl.learning.progress import Progress

    Progress.load().update_exercise("python-blocking-sleep", started=True,
                                    workspace="/somewhere/python-blocking-sleep")
    child = spawn([], LABCTL_LESSONS_DIR=str(Path(__file__).parent.parent / "lessons"))
    child.expect("exercises")                 # the lessons table's column
    child.expect("Choose a lesson by number")
    child.sendline("3")
    # name, state, command (the state is styled: escape codes sit between them)
    for text in ("1  python-blocking-sleep  ", "started",
                 "cd /somewhere/python-blocking-sleep && labctl exercise check",
                 "rust-blocking-sleep  ", "not started"):
        child.expect_exact(text)
    child.expect("e start an exercise")
    child.expect("b back · q quit")
    child.expect("> ")
    child.sendline("e")
    child.expect(r"Which exercise\? \(1-5")
    child.sendline("")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_menu_walks_a_lesson_from_its_sheet_to_a_started_exercise(tmp_path):
    """Lesson 006, one key a step: p writes the lab's prediction sheet in the current folder, e
    starts the lesson's exercise and shows the two lines to type next, b comes back."""
    child = spawn([], cwd=tmp_path, LABCTL_LESSONS_DIR=str(Path(__file__).parent.parent / "lessons"))
    child.expect("Choose a lesson by number")
    child.sendline("6")
    child.expect("006 · Slow clients")
    child.expect("p write your predictions")
    child.expect("l run its lab")
    child.expect("e start exercise go-slow-clients")
    child.expect("> ")
    child.sendline("p")
    child.expect(rf"Wrote {ESC}labctl-slow-clients-predictions\.toml")
    child.expect("> ")
    sheet = (tmp_path / "labctl-slow-clients-predictions.toml").read_text(encoding="utf-8")
    assert "[go]" in sheet and "[node]" in sheet and "# shipped = " in sheet
    child.sendline("e")
    child.expect(rf"\$ {ESC}labctl exercise start go-slow-clients")
    child.expect("Next, in another terminal")
    child.expect(r"cd \S*labctl-exercises/go-slow-clients")
    child.expect_exact("labctl exercise check --watch")
    child.expect("> ")
    assert (tmp_path / "labctl-exercises" / "go-slow-clients").is_dir()
    # started now: e again only says where the copy is and what to type
    child.sendline("e")
    child.expect("go-slow-clients is started; your copy is")
    child.expect_exact("labctl exercise check --watch")
    child.expect("> ")
    child.sendline("b")
    child.expect("Choose a lesson by number")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in child.logfile_read.getvalue()
