"""No strategy that ignores the questions passes a lesson (issue 9).

For every shipped lesson (and the fixture course), answers files are generated that pick, for
every choice item, the first choice, the last, or the longest (in file order, as an answers file
names them); for every true/false item always "true" or always "false"; and for every numeric item
the right number in a wrong unit. Every combination must score below the pass mark. Until the
rewritten lessons land, the shipped ones fail this test: that is what it is for.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from labctl import paths
from labctl.learning import DEFAULT_PASS_MARK, lessons, quiz
from labctl.learning import answer_units as units

COURSE = Path(__file__).parent / "assets" / "lessons" / "course"
CHOICE_STRATEGIES = {
    "first": lambda item: 0,
    "last": lambda item: len(item.choices) - 1,
    # the longest choice; on a tie, the first of the longest
    "longest": lambda item: max(range(len(item.choices)), key=lambda i: (len(item.choices[i]), -i)),
}
TRUE_FALSE_STRATEGIES = {"always-true": True, "always-false": False}


def wrong_unit(item: lessons.Item) -> str:
    """The right number with a unit that changes its meaning: another unit of the same dimension
    if there is one ("20 ms" for 20 µs), else a unit of another dimension (which is refused)."""
    declared = quiz.item_unit(item)
    number = units.format_value(item.answer)
    others = [u for u in units.FILE_UNITS.values()
              if u.dimension == declared.dimension and u.factor != declared.factor and u.symbol]
    if others:
        return f"{number} {others[0].symbol}"
    return f"{number} ms" if declared.dimension != "time" else f"{number} MB"


def strategy_answers(lesson: lessons.Lesson, choice: str, true_false: str) -> dict:
    answers: dict = {}
    for item in lesson.items:
        if item.kind == "choice":
            answers[item.id] = lessons.LETTERS[CHOICE_STRATEGIES[choice](item)]
        elif item.kind == "true_false":
            answers[item.id] = TRUE_FALSE_STRATEGIES[true_false]
        else:
            answers[item.id] = wrong_unit(item)
    return answers


def all_lessons() -> list[lessons.Lesson]:
    shipped, problems = lessons.load_all(paths.lessons_dir())
    assert not problems, [p.one_line() for p in problems]
    course, problems = lessons.load_all(COURSE)
    assert not problems
    return shipped + course


LESSONS = all_lessons()


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.display_path for lesson in LESSONS])
def test_no_strategy_that_ignores_the_questions_passes(lesson, tmp_path):
    scores = {}
    for choice, true_false in itertools.product(CHOICE_STRATEGIES, TRUE_FALSE_STRATEGIES):
        # a real answers file, read back the way `labctl quiz --answers` reads it
        path = tmp_path / f"{choice}-{true_false}.json"
        path.write_text(json.dumps(strategy_answers(lesson, choice, true_false)))
        graded = quiz.grade_file(lesson, quiz.read_answers_file(path), DEFAULT_PASS_MARK)
        scores[f"{choice}+{true_false}"] = graded.score()
    passing = {name: f"{score:.0%}" for name, score in scores.items() if score >= DEFAULT_PASS_MARK}
    assert passing == {}, f"{lesson.id} passes without reading the questions: {passing}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.display_path for lesson in LESSONS])
def test_the_right_number_in_a_wrong_unit_is_never_correct(lesson):
    for item in lesson.items:
        if item.kind == "numeric":
            try:
                graded = quiz.grade(item, wrong_unit(item))
            except quiz.InvalidAnswer:
                continue                                    # another dimension: refused, not relabelled
            assert not graded.correct, (lesson.id, item.id, wrong_unit(item))


def test_the_strategies_do_pick_what_they_say():
    lesson = lessons.load_lesson(COURSE / "000-sample.md")
    technique = lesson.question("technique")
    assert strategy_answers(lesson, "first", "always-true")["technique"] == "a"
    assert strategy_answers(lesson, "last", "always-true")["technique"] == "c"
    longest = strategy_answers(lesson, "longest", "always-false")["technique"]
    assert technique.choices[lessons.LETTERS.index(longest)] == max(technique.choices, key=len)
    assert strategy_answers(lesson, "first", "always-false")["async-faster"] is False
    assert strategy_answers(lesson, "first", "always-true")["sequential"] == "80 ns"
    assert strategy_answers(lesson, "first", "always-true")["in-flight"] == "1000 ms"
