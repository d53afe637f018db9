"""State that cannot be lost: quiz progress and saved results under concurrent saves, kill -9 in
the middle of a save, a full disk and a read-only data directory.

These run real processes against real files; the only thing arranged is the filesystem (a tiny
tmpfs as root, a read-only mode bit otherwise).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from labctl import paths
from labctl.errors import EnvironmentProblem
from labctl.learning import lessons
from labctl.learning.progress import Progress
from labctl.results import store

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# A child that records ``count`` answers of its own, saving after each one, as the quiz does. The
# question is a stand-in with the two things progress reads from a question: an id and a hash.
SAVER = textwrap.dedent("""
    import sys
    from dataclasses import dataclass
    from pathlib import Path
    from fsrs import Rating
    from labctl.learning.progress import Progress

    @dataclass
    class Question:
        id: str
        def text_hash(self):
            return "h-" + self.id

    path, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    progress = Progress.load(path)
    print("ready", flush=True)
    sys.stdin.readline()                       # start together
    for n in range(count):
        progress.review("999-test", Question(f"{tag}-{n}"), Rating.Good)
""")


def start_saver(path: Path, tag: str, count: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", SAVER, str(path), tag, str(count)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_two_processes_saving_at_once_lose_nothing(tmp_path):
    path = tmp_path / "progress.json"
    count = 40
    savers = [start_saver(path, tag, count) for tag in ("a", "b", "c")]
    for saver in savers:
        saver.stdin.write("go\n")
        saver.stdin.flush()
    for saver in savers:
        assert saver.wait(timeout=120) == 0
    cards = json.loads(path.read_text())["cards"]
    expected = {f"999-test/{tag}-{n}" for tag in ("a", "b", "c") for n in range(count)}
    assert expected <= set(cards), f"lost {len(expected - set(cards))} of {len(expected)} answers"
    assert not list(tmp_path.glob(".progress.json.*.tmp"))


def big_progress(path: Path, cards: int) -> None:
    """A progress file large enough (about 1 MB) that a save takes a noticeable time to write."""
    entry = {"text_hash": "x" * 64, "card": {"card_id": 1, "state": 2, "step": None, "stability": 3.1,
                                             "difficulty": 5.2, "due": "2026-03-03T09:00:00+00:00",
                                             "last_review": "2026-03-02T09:00:00+00:00"},
             "last_rating": "Good", "history": [{"at": "2026-03-02T09:00:00+00:00", "rating": "Good",
                                                 "mode": "quiz"}] * 5}
    path.write_text(json.dumps({"format_version": 1, "lessons": {},
                                "cards": {f"999-seed/{n}": entry for n in range(cards)}}))


def test_kill_9_during_saves_leaves_a_whole_file(tmp_path):
    path = tmp_path / "progress.json"
    big_progress(path, 1500)
    rng = random.Random(12)
    for round_ in range(8):
        saver = start_saver(path, f"k{round_}", 10_000)
        saver.stdin.write("go\n")
        saver.stdin.flush()
        time.sleep(rng.uniform(0.05, 0.6))
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=30)
        document = json.loads(path.read_text())       # whole: the old file or a new one
        assert len(document["cards"]) >= 1500
    # What the killed savers left (temporary files, the lock) does not block the next save, which
    # also clears the abandoned temporary files.
    survivor = Progress.load(path)
    survivor.record_attempt("999-test", 1.0, True, mode="quiz")
    assert "999-test" in json.loads(path.read_text())["lessons"]
    assert not list(tmp_path.glob(".progress.json.*.tmp"))


# --- a data directory that cannot be written -----------------------------------------------------

@contextmanager
def unwritable_dir(tmp_path: Path, how: str):
    """A directory where writes fail: ``full`` (ENOSPC) or ``readonly`` (EROFS / EACCES)."""
    folder = tmp_path / f"data-{how}"
    folder.mkdir()
    if IS_ROOT:
        options = "size=64k" + (",ro" if how == "readonly" else "")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                 capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
        try:
            if how == "full":
                (folder / "labctl").mkdir()
                filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
                try:
                    while os.write(filler, b"\0" * 4096):
                        pass
                except OSError:
                    pass                                # ENOSPC: the disk is full now
                finally:
                    os.close(filler)
            yield folder
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        if how == "full":
            pytest.skip("filling a filesystem needs root (a tmpfs mount)")
        (folder / "labctl").mkdir()
        os.chmod(folder / "labctl", 0o555)
        try:
            yield folder
        finally:
            os.chmod(folder / "labctl", 0o755)


def lesson_answers() -> dict:
    lesson = lessons.load_lesson(paths.lessons_dir() / "003-first-bottleneck.md")
    return {item.id: (lessons.LETTERS[item.answer] if item.kind == "choice" else item.answer)
            for item in lesson.items}


@pytest.mark.parametrize("how", ["full", "readonly"])
def test_answers_that_cannot_be_saved_are_printed_not_lost(tmp_path, how):
    answers = lesson_answers()
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers))
    with unwritable_dir(tmp_path, how) as data:
        env = {**os.environ, "XDG_DATA_HOME": str(data)}
        result = subprocess.run([sys.executable, "-m", "labctl", "quiz", "003", "--answers",
                                 str(answers_file)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "cannot write quiz progress" in error_lines[0], result.stderr
    assert "answers graded" in result.stdout                  # the grade is still shown
    shown = result.stderr[result.stderr.index("{"):]
    assert json.loads(shown) == answers                       # and the answers, re-gradable


@pytest.mark.parametrize("how", ["full", "readonly"])
def test_a_result_that_cannot_be_saved_is_one_error_after_the_output(tmp_path, monkeypatch, how):
    with unwritable_dir(tmp_path, how) as data:
        monkeypatch.setenv("XDG_DATA_HOME", str(data))
        document = {"schema": "labctl.compare/1"}
        printed = []
        with pytest.raises(EnvironmentProblem) as raised:
            with store.saved("compare", document) as result_id:
                printed.append(result_id)
        assert printed == [None] and "id" not in document
        assert "cannot save the result" in raised.value.message
        leftovers = [p.name for p in (data / "labctl").rglob("*") if p.suffix == ".tmp"]
        assert leftovers == []


def test_results_saved_in_the_same_second_get_different_ids():
    ids = {store.save_result("compare", {"schema": "labctl.compare/1"}) for _ in range(30)}
    assert len(ids) == 30
    assert len(list(store.results_dir().glob("*.json"))) == 30
