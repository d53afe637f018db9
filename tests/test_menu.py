"""The menu's steps that need no terminal: which lab has a prediction sheet, the keys' lines,
and the lab run with the learner's sheet only when it has answers (the child process faked at
its boundary: the command line it would run is what is checked)."""

from __future__ import annotations

import subprocess

import pytest

from labctl.learning import lessons, menu, quiz_ui


def lesson(number: str) -> lessons.Lesson:
    return lessons.find(number, lessons.load_all()[0])


def test_the_labs_that_ask_for_predictions_offer_the_sheet_key():
    assert menu.sheet_lab(lesson("006")) == "slow-clients"
    assert menu.sheet_lab(lesson("005")) == "edge-cases"
    assert menu.sheet_lab(lesson("003")) is None        # the bottleneck lab has no sheet
    keys = [key for key, _ in menu.lesson_keys(lesson("006"), [("go-slow-clients", "not started")])]
    assert keys == ["s", "p", "l", "e", "t", "b", "q"]


@pytest.mark.parametrize("width", [30, 80, 100])
def test_the_keys_wrap_between_keys_never_inside_one(width):
    keys = menu.lesson_keys(lesson("006"), [("go-slow-clients", "not started")])
    lines = menu.key_lines(keys, width)
    assert " · ".join(lines) == " · ".join(f"{key} {what}" for key, what in keys)
    assert all(len(line) <= width for line in lines if " · " in line)


def test_the_lab_runs_with_the_sheet_once_it_has_answers(tmp_path, monkeypatch):
    ran: list[list[str]] = []

    def fake_run(argv, **kwargs):
        ran.append(argv[3:])                    # after python -m labctl
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(quiz_ui.subprocess, "run", fake_run)
    sheet = tmp_path / menu.sheet_path("slow-clients")
    sheet.write_text("[go]\n# shipped = \n", encoding="utf-8")
    menu.run_lab(lesson("006"))
    sheet.write_text("[go]\nshipped = \"closed 5\"\n", encoding="utf-8")
    menu.run_lab(lesson("006"))
    assert ran == [["lab", "slow-clients"],
                   ["lab", "slow-clients", "--predict", "labctl-slow-clients-predictions.toml"]]
