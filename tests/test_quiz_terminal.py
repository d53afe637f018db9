"""The quiz and the menu driven in a real terminal (a pty, through pexpect), start to score.

The session answers lesson 000: the three prompts (one through $EDITOR), every item (two wrong on
purpose, one unreadable answer first), the retry round; then, "the next day" (LABCTL_NOW), a
``--review`` that must ask exactly the questions that are due.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone

import pytest

from labctl import lessons, paths
from labctl import progress as progresslib

pexpect = pytest.importorskip("pexpect")

ESC = r"(?:\x1b\[[0-9;]*m)*"          # Rich may wrap words in style codes even under NO_COLOR
LESSON = lessons.load_lesson(paths.lessons_dir() / "000-four-servers.md")
WRONG = {"curl-ms": "8.12", "node-cpu-blocks": "b"}     # answered wrong on purpose


def right_answer(item: lessons.Item) -> str:
    if item.kind == "choice":
        return lessons.LETTERS[item.answer]
    if item.kind == "true_false":
        return "t" if item.answer else "f"
    return f"{item.answer:g}"


def spawn(args: list[str], **extra_env: str):
    env = os.environ.copy()
    env.update({"NO_COLOR": "1", "LABCTL_WIDTH": "100", "TERM": "xterm", **extra_env})
    env.pop("LABCTL_LESSONS_DIR", None)
    child = pexpect.spawn(sys.executable, ["-m", "labctl", *args], env=env, encoding="utf-8",
                          timeout=20, dimensions=(40, 100))
    child.logfile_read = io.StringIO()        # the whole transcript, for assertions at the end
    return child


@pytest.fixture
def fake_editor(tmp_path):
    script = tmp_path / "fake-editor.sh"
    script.write_text("#!/bin/sh\nprintf 'One goroutine per connection in the standard library.\\n' > \"$1\"\n")
    script.chmod(0o755)
    return str(script)


def test_full_quiz_then_review_the_next_day(fake_editor):
    child = spawn(["quiz", "000"], EDITOR=fake_editor, VISUAL=fake_editor)
    child.expect(f"Quiz · 000 Four minimal servers · 3 prompts, {len(LESSON.items)} questions")

    # Prompt 1 through $EDITOR.
    child.expect("Prompt 1 of 3")
    child.expect('End with a line holding only "\\."')
    child.sendline(":e")
    child.expect("This marking is a hint, not a grade")
    child.expect(r"\[x\] " + ESC + "Go's net/http is the standard library")
    child.expect("1 Again · 2 Hard · 3 Good · 4 Easy: ")
    child.sendline("3")

    # Prompt 2: typed over several lines, with the hint on request.
    child.expect("Prompt 2 of 3")
    child.sendline("Uvicorn parses HTTP with h11 or httptools,")
    child.sendline(":h")
    child.expect("hint: " + ESC + "Draw three boxes")
    child.sendline("Tokio waits on sockets with epoll.")
    child.sendline(".")
    child.expect("hint, not a grade")
    child.expect(r"\[x\] " + ESC + "The bottom layer waits on many sockets")
    child.expect(r"\[ \] " + ESC + "Starlette provides ASGI routing")
    child.expect("Easy: ")
    child.sendline("x")                                   # not a rating: asked again
    child.expect("please answer one of")
    child.sendline("h")                                   # Hard
    child.expect("rated Hard")

    # Prompt 3: an empty answer is allowed; rated Easy.
    child.expect("Prompt 3 of 3")
    child.sendline(".")
    child.expect("Easy: ")
    child.sendline("4")

    # The items; the first gets an unreadable answer before the real one.
    first = LESSON.items[0]
    child.expect(f"Question 1 of {len(LESSON.items)}")
    child.expect(r"\? if you don't know\): ")
    child.sendline("zz")
    child.expect("is not one of the choices")
    child.sendline(right_answer(first))
    child.expect("correct")
    for number, item in enumerate(LESSON.items[1:], 2):
        child.expect(f"Question {number} of {len(LESSON.items)}")
        child.expect(r"\? if you don't know\): ")
        child.sendline(WRONG.get(item.id, right_answer(item)))
        if item.id in WRONG:
            child.expect("wrong" + ESC + " — the answer is")
            child.expect(re.escape(item.explanation[:40]))

    total = len(LESSON.items)
    right = total - len(WRONG)
    child.expect(rf"Score: {ESC}{right}/{total} auto-graded questions correct \({right / total:.0%}\); "
                 rf"pass mark 70%: {ESC}passed")
    child.expect(r"Prompts \(self-rated\): " + ESC + r"prompt 1 Good \(1/5 points touched\), prompt 2 Hard")
    child.expect(r"Try the 2 missed questions again\?")
    child.sendline("y")
    missed = [item for item in LESSON.items if item.id in WRONG]
    for number, item in enumerate(missed, 1):
        child.expect(f"Second try {number} of 2")
        child.expect(r"\? if you don't know\): ")
        child.sendline(right_answer(item))
        child.expect("correct")
    child.expect("Second try: 2/2 correct")
    child.expect("Next review: 3 questions due on")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    saved = json.loads(progresslib.progress_path().read_text())
    assert len(saved["cards"]) == total + 3
    assert saved["cards"]["000-four-servers/curl-ms"]["last_rating"] == "Again"   # the first answer counts
    assert saved["cards"]["000-four-servers/prompt-2"]["last_rating"] == "Hard"
    assert saved["lessons"]["000-four-servers"]["passed"] is True

    # The next day: only the two missed items and the prompt rated Hard are due.
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1, hours=1)).isoformat()
    review = spawn(["quiz", "--review"], LABCTL_NOW=tomorrow)
    review.expect(r"Review · 3 due questions from 1 lesson")
    review.expect("Prompt 1 of 1")
    review.expect("FastAPI sits on Starlette and Uvicorn")
    review.sendline("Hyper parses HTTP for Axum; Tokio is the runtime.")
    review.sendline(".")
    review.expect("Easy: ")
    review.sendline("3")
    for number, item in enumerate(missed, 1):
        review.expect(f"Question {number} of 2")
        review.expect(re.escape(item.question[:40]))
        review.expect(r"\? if you don't know\): ")
        review.sendline(right_answer(item))
        review.expect("correct")
    review.expect(rf"Score: {ESC}2/2 auto-graded questions correct \(100%\)")
    review.expect(pexpect.EOF)
    review.close()
    assert review.exitstatus == 0
    transcript = review.logfile_read.getvalue()
    assert "Prompt 2 of" not in transcript and "Question 3 of" not in transcript

    # Asked again the same day: nothing left.
    again = spawn(["quiz", "--review"], LABCTL_NOW=tomorrow)
    again.expect("Nothing is due for review right now")
    again.expect("Next review:")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


def test_end_of_input_stops_the_quiz_and_keeps_answers():
    child = spawn(["quiz", "003"])
    child.expect("Prompt 1 of 3")
    child.sendline("Waiting on the database dominates.")
    child.sendline(".")
    child.expect("Easy: ")
    child.sendline("2")
    child.expect("Prompt 2 of 3")
    child.expect("> ")
    child.sendeof()
    child.expect("quiz stopped after 1 answer\\(s\\); those are saved in your progress")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = json.loads(progresslib.progress_path().read_text())
    assert list(saved["cards"]) == ["003-first-bottleneck/prompt-1"]


def test_interactive_menu_shows_a_lesson_and_quits():
    child = spawn([])
    child.expect("labctl — lessons")
    child.expect("004-choosing-a-language")
    child.expect("Choose a lesson by number")
    child.sendline("3")
    child.expect("003 · The first bottleneck is I/O")
    child.expect("s show it · l run its lab · t take its quiz · b back · q quit: ")
    child.sendline("s")
    child.expect("The arithmetic")
    child.expect("Try it")
    child.expect("labctl load go /health -c 100 -d 10s")
    child.expect(r"\(Enter to return to the menu\)")
    child.sendline("")
    child.expect("b back · q quit: ")
    child.sendline("b")
    child.expect("Choose a lesson by number")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_no_arguments_without_a_terminal_prints_help():
    from typer.testing import CliRunner

    from labctl.cli import app

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0
    assert "Usage" in result.stdout and "quiz" in result.stdout
