"""Quantities with units: every unit a lesson may declare, both directions, and the learner's
spellings; then numeric grading with units (issue 9: "Numeric grading ignores units")."""

from __future__ import annotations

import pytest

from labctl.learning import answer_units as units
from labctl.learning import lessons, quiz

# (unit a lesson may declare, the same quantity written in another unit of its dimension)
EQUIVALENTS = [
    ("ns", 1500, "1.5 µs"), ("µs", 20, "0.02 ms"), ("us", 20, "20000 ns"), ("ms", 500, "0.5 s"),
    ("s", 90, "1.5 min"), ("min", 2, "120 s"),
    ("B", 1500, "1.5 KB"), ("KB", 1500, "1.5 MB"), ("MB", 100, "0.1 GB"), ("GB", 2, "2000 MB"),
    ("KiB", 4, "4096 B"), ("MiB", 1, "1024 KiB"), ("GiB", 1, "1024 MiB"),
    ("req/s", 2000, "2k req/s"), ("%", 50, "0.5x"), ("x", 2, "200%"),
    ("connections", 100, "100"), ("requests", 2000, "2k requests"), ("goroutines", 3, "3 goroutines"),
    ("threads", 8, "8 threads"), ("workers", 4, "4 workers"), ("processes", 2, "2 processes"),
    ("cores", 2, "2 cores"), ("headers", 100, "100 headers"), ("routes", 3, "3 routes"), ("", 50, "~50"),
]


def item(unit: str, answer: float, tolerance: float = 0.0) -> lessons.Item:
    return lessons.Item(id="x", kind="numeric", question="How much?", explanation="Because.",
                        answer=answer, tolerance=tolerance, unit=unit)


def test_every_file_unit_has_a_row_here():
    assert {unit for unit, _, _ in EQUIVALENTS} == set(units.FILE_UNITS)


@pytest.mark.parametrize("unit, answer, other", EQUIVALENTS, ids=[row[0] or "bare" for row in EQUIVALENTS])
def test_each_unit_converts_both_ways(unit, answer, other):
    declared = units.file_unit(unit)
    assert declared is not None
    # the other unit, converted to the item's unit, grades right
    assert quiz.grade(item(unit, answer), other).correct, other
    # and the item's unit, written out, converts back into the other unit
    quantity = units.parse(other)
    if quantity.written:
        back = units.Quantity(answer, declared, unit).to(quantity.unit)
        assert back == pytest.approx(quantity.value)
    # the item's own spelling is understood too
    assert quiz.grade(item(unit, answer), f"{answer} {unit}".strip()).correct


@pytest.mark.parametrize("text, value, symbol", [
    ("0.5 s", 0.5, "s"), ("500ms", 500, "ms"), ("2k req/s", 2000, "req/s"), ("1.5 MB", 1.5, "MB"),
    ("~50", 50, ""), ("20/s", 20, "req/s"), ("20 rps", 20, "req/s"), ("3 requests per second", 3, "req/s"),
    ("812 μs", 812, "µs"), ("812 us", 812, "µs"), ("2,000", 2000, ""), ("about 7 ms", 7, "ms"),
    ("1.5M requests", 1.5e6, "requests"), ("10 seconds.", 10, "s"), ("64 kB", 64, "KB"), ("50 %", 50, "%"),
    ("3×", 3, "x"), ("1 hour", 1, "h"),
])
def test_the_parser_reads_what_learners_type(text, value, symbol):
    quantity = units.parse(text)
    assert quantity.value == pytest.approx(value)
    assert quantity.unit.symbol == symbol or (symbol == "µs" and quantity.unit.factor == 1e-6)


@pytest.mark.parametrize("text", ["twenty", "1000/50", "20 or 21", "", "- 5", "20 parsecs", "2k ms"])
def test_the_parser_refuses_what_is_not_one_quantity(text):
    with pytest.raises(units.QuantityError):
        units.parse(text)


# --- the rows of issue 9, "Numeric grading ignores units" -----------------------------------

def test_20_ms_is_not_accepted_where_the_answer_is_20_us():
    grade = quiz.grade(item("µs", 20), "20 ms")
    assert not grade.correct
    assert grade.given == "20 ms = 20000 µs"


def test_812_us_is_shown_and_graded_as_microseconds_not_milliseconds():
    grade = quiz.grade(item("ms", 0.812, 0.01), "812 µs")
    assert grade.correct and grade.given == "812 µs = 0.812 ms"
    assert not quiz.grade(item("ms", 812), "812 µs").correct


def test_half_a_second_is_500_ms_not_half_a_millisecond():
    grade = quiz.grade(item("ms", 500), "0.5 s")
    assert grade.correct and grade.given == "0.5 s = 500 ms"
    assert not quiz.grade(item("ms", 0.5), "0.5 s").correct


def test_a_tenth_of_a_gigabyte_is_100_mb_not_a_tenth_of_a_megabyte():
    grade = quiz.grade(item("MB", 100), "0.1 GB")
    assert grade.correct and grade.given == "0.1 GB = 100 MB"
    assert not quiz.grade(item("MB", 0.1), "0.1 GB").correct


def test_2k_req_per_second_is_2000_not_2():
    assert quiz.grade(item("req/s", 2000), "2k req/s").correct
    assert not quiz.grade(item("req/s", 2), "2k req/s").correct


def test_approximately_per_second_and_a_full_stop_are_readable():
    assert quiz.grade(item("", 50), "~50").correct
    assert quiz.grade(item("req/s", 20), "20/s").correct
    tf = lessons.Item(id="t", kind="true_false", question="?", explanation="!", answer=True)
    assert quiz.grade(tf, "True.").correct and not quiz.grade(tf, "False!").correct


@pytest.mark.parametrize("unit, answer, wrong, kind", [
    ("MB", 20, "20 ms", "a size"), ("ms", 20, "20 MB", "a time"), ("req/s", 20, "20 s", "a rate"),
    ("", 20, "20 ms", "a plain number"), ("%", 20, "20 KB", "a ratio"),
])
def test_a_wrong_dimension_is_never_relabelled(unit, answer, wrong, kind):
    with pytest.raises(quiz.InvalidAnswer) as refused:
        quiz.grade(item(unit, answer), wrong)
    message = str(refused.value)
    assert f"give {kind}" in message and "\n" not in message


def test_a_bare_number_is_in_the_items_unit():
    assert quiz.grade(item("µs", 20), "20").given == "20 µs"
    assert quiz.grade(item("µs", 20), 20).correct


def test_numbers_are_printed_as_people_write_them():
    assert units.format_quantity(2000000, "req/s") == "2000000 req/s"
    assert units.format_quantity(0.8123456, "ms") == "0.812346 ms"
    assert units.format_quantity(50, "%") == "50%"
    assert units.format_quantity(1.5e-9, "s") == "1.5e-09 s"
