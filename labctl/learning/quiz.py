"""The quiz, without any printing: parsing and grading answers, marking key points, the session.

Terminal rendering and prompting live in ``labctl.learning.quiz_ui``; the answers-file mode is graded here
too, so ``labctl quiz LESSON --answers FILE`` and an interactive session use the same rules.
"""

from __future__ import annotations

import json
import os
import random
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsrs import Rating

from labctl.errors import EnvironmentProblem, LabctlError
from labctl.learning import answer_units as units
from labctl.learning.lessons import LETTERS, Item, Lesson, Prompt, format_number
from labctl.learning.progress import RATING_NAMES, RATINGS_BY_NAME, Progress, rating_for
from labctl.learning.sittings import Sittings

if TYPE_CHECKING:
    from labctl.results.documents import GradedItem, QuizGradeDocument


class InvalidAnswer(ValueError):
    """An answer that cannot be read for this kind of item (not the same as a wrong answer)."""


class OtherScale(InvalidAnswer):
    """A bare number that is wrong in the item's unit but right in another unit of its dimension
    ("5000" on a seconds item, meant as ms): asked again, never marked wrong for a missing unit."""


# --- parsing and grading -----------------------------------------------------------------------

_TRUE = {"t", "true", "y", "yes"}
_FALSE = {"f", "false", "n", "no"}


def parse_answer(item: Item, raw: Any, order: tuple[int, ...] | None = None) -> Any:
    """The learner's answer as the item's kind of value: a choice's index in the FILE, a bool, or a
    quantity. ``order`` is how the choices were shown (file indices in display order): a letter
    names the choice shown at that position; without it, letters follow the file (answers files)."""
    if item.kind == "choice":
        return _parse_choice(item, raw, order)
    if item.kind == "true_false":
        return _parse_bool(raw)
    return _parse_number(item, raw)


def _parse_choice(item: Item, raw: Any, order: tuple[int, ...] | None = None) -> int:
    order = order or tuple(range(len(item.choices)))
    letters = f"a–{LETTERS[len(item.choices) - 1]}"
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise InvalidAnswer(f"give the letter of a choice ({letters})")
    text = raw.strip()
    wanted = text.lower().strip("().")
    if len(wanted) == 1 and wanted in LETTERS[:len(item.choices)]:
        return order[LETTERS.index(wanted)]
    for index, choice in enumerate(item.choices):
        if " ".join(choice.lower().split()) == " ".join(text.lower().rstrip(".").split()):
            return index
    raise InvalidAnswer(f"'{text}' is not one of the choices: give a letter ({letters})")


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower().rstrip(".!")
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise InvalidAnswer("answer true or false (t/f)")


def _parse_number(item: Item, raw: Any) -> units.Quantity:
    """A quantity in any unit of the item's dimension; a bare number is in the item's unit."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise InvalidAnswer("give a number")
    if isinstance(raw, (int, float)):
        return units.Quantity(float(raw), units.FILE_UNITS[""], "")
    if asks_for_status(item):
        raw = status_code_text(raw)
    try:
        quantity = units.parse(raw)
        units.convert(quantity, item_unit(item))
    except units.WrongDimension as exc:
        raise InvalidAnswer(f"{exc}, e.g. {units.DIMENSIONS[item_unit(item).dimension][1]}") from None
    except units.QuantityError as exc:
        raise InvalidAnswer(f"{exc}{_in_unit(item)}") from None
    return quantity


# "HTTP 431", "HTTP/1.1 431", "431 Request Header Fields Too Large", "431 (Request Header …)."
_STATUS_ANSWER = re.compile(r"^(?:HTTP(?:/\d(?:\.\d)?)?\s*)?(\d{3})(?:\s+|\s*[-:(]\s*)?(.*?)\)?$",
                            re.IGNORECASE)
# Reason phrases renamed by RFC 9110, or still written the old way: both are accepted.
# (Python's own phrases changed with 3.13, so both spellings are listed whatever Python runs.)
_OTHER_REASONS = {413: ("content too large", "payload too large", "request entity too large"),
                  414: ("uri too long", "request-uri too long"),
                  416: ("range not satisfiable", "requested range not satisfiable"),
                  422: ("unprocessable content", "unprocessable entity"), 408: ("request time-out",)}


def asks_for_status(item: Item) -> bool:
    """A bare-count item whose answer is an HTTP status code (100–599, whole)."""
    return (item.kind == "numeric" and not item.unit and float(item.answer).is_integer()
            and 100 <= item.answer <= 599)


def _reason_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def status_code_text(raw: str) -> str:
    """The status code alone from "HTTP 431" or "431 Request Header Fields Too Large"; text that
    is not a status code is returned as it was, for the number parser to judge. A reason phrase
    that belongs to another code is refused: the answer would mean two things."""
    from http import HTTPStatus

    cleaned = raw.strip().rstrip(".!").strip()
    match = _STATUS_ANSWER.match(cleaned)
    if not match:
        return raw
    code, reason = int(match.group(1)), _reason_words(match.group(2))
    if not reason:
        return match.group(1)
    try:
        known = [HTTPStatus(code).phrase, *_OTHER_REASONS.get(code, ())]
    except ValueError:
        known = list(_OTHER_REASONS.get(code, ()))
    if reason in {_reason_words(phrase) for phrase in known}:
        return match.group(1)
    if known:
        raise InvalidAnswer(f"{code} is {known[0]!r}, not {match.group(2).strip()!r}: give one status code, e.g. 404")
    raise InvalidAnswer("give one status code, e.g. 404")


def item_unit(item: Item) -> units.Unit:
    return units.file_unit(item.unit) or units.lookup(item.unit) or units.FILE_UNITS[""]


def _in_unit(item: Item) -> str:
    return f" (in {item.unit} or another unit of {units.describe(item_unit(item).dimension)})" \
        if item.unit else ""


def is_correct(item: Item, value: Any) -> bool:
    if item.kind == "numeric":
        value = units.convert(value, item_unit(item))
        # A tiny epsilon so that a tolerance of 0.1 accepts 20.1 despite binary floating point.
        return abs(value - item.answer) <= item.tolerance + 1e-9 * max(1.0, abs(item.answer))
    return value == item.answer


def display_value(item: Item, value: Any, order: tuple[int, ...] | None = None) -> str:
    """The answer as understood: a choice with the letter it was shown under, or a quantity in the
    learner's unit and, when that differs, in the item's ("0.5 s = 500 ms")."""
    if item.kind == "choice":
        return choice_display(item, value, order)
    if item.kind == "true_false":
        return "true" if value else "false"
    in_item_unit = format_number(units.convert(value, item_unit(item)), item.unit)
    if not value.written or value.unit.factor == item_unit(item).factor:
        return in_item_unit
    return f"{format_number(value.value, value.written)} = {in_item_unit}"


def choice_display(item: Item, index: int, order: tuple[int, ...] | None = None) -> str:
    """``c) text``: the choice at file position ``index`` under the letter it was shown with."""
    position = order.index(index) if order else index
    return f"{LETTERS[position]}) {item.choices[index]}"


def answer_display(item: Item, order: tuple[int, ...] | None = None) -> str:
    if item.kind == "choice":
        return choice_display(item, item.answer, order)
    return item.answer_display()


@dataclass(frozen=True)
class Grade:
    item: Item
    correct: bool
    given: str                       # the answer as understood, for display


def grade(item: Item, raw: Any, order: tuple[int, ...] | None = None) -> Grade:
    """Grade one answer; ``InvalidAnswer`` if it cannot be read as this item's kind, and
    ``OtherScale`` for a bare number that is right only in another unit of the dimension."""
    value = parse_answer(item, raw, order)
    correct = is_correct(item, value)
    if not correct and item.kind == "numeric":
        meant = other_scale(item, value)
        if meant is not None:
            number = units.format_value(value.value)
            raise OtherScale(f"asked in another scale: {number} is read as "
                             f"{format_number(value.value, item.unit)}; if you meant another unit "
                             f"(such as {meant.symbol}), write it: '{number} {meant.symbol}'")
    return Grade(item=item, correct=correct, given=display_value(item, value, order))


def other_scale(item: Item, value: units.Quantity) -> units.Unit | None:
    """For a bare number, the first other unit of the item's dimension in which it is right."""
    if value.written or value.unit.symbol != "":
        return None
    target = item_unit(item)
    for unit in units.other_scales(target):
        converted = value.value * unit.factor / target.factor
        if abs(converted - item.answer) <= item.tolerance + 1e-9 * max(1.0, abs(item.answer)):
            return unit
    return None


# --- shuffling -------------------------------------------------------------------------------------

def make_rng() -> random.Random:
    """Where choice orders come from: LABCTL_QUIZ_SEED (an integer) makes them repeatable, for
    tests and for two people comparing notes; otherwise every sitting draws afresh."""
    seed = os.environ.get("LABCTL_QUIZ_SEED", "").strip()
    if not seed:
        return random.Random()
    try:
        return random.Random(int(seed))
    except ValueError:
        raise LabctlError(f"LABCTL_QUIZ_SEED='{seed}' is not a whole number",
                          "Use e.g. LABCTL_QUIZ_SEED=7, or unset it", exit_code=2) from None


def shuffled_order(item: Item, rng: random.Random) -> tuple[int, ...]:
    order = list(range(len(item.choices)))
    rng.shuffle(order)
    return tuple(order)


# --- key points: "touched", a hint and not a grade --------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "edly", "ed", "es", "s", "ly", "er")


def stem(word: str) -> str:
    """A very small stemmer: enough for "blocking" to meet "blocks" and "caches" to meet "cache"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def stems(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower())]


def keyword_in(keyword: str, answer_stems: list[str]) -> bool:
    """Whether the keyword (one word or a phrase) appears in the answer, word for word."""
    wanted = stems(keyword)
    if not wanted:
        return False
    size = len(wanted)
    return any(answer_stems[i:i + size] == wanted for i in range(len(answer_stems) - size + 1))


def live_keywords(prompt: Prompt, keywords: tuple[str, ...]) -> list[str]:
    """The keywords that can count: one made only of words in the prompt's own text never does,
    so pasting the prompt back (or echoing its words) touches nothing."""
    own = set(stems(prompt.text))
    return [keyword for keyword in keywords if not set(stems(keyword)) <= own]


# A key point counts as touched when this many of its keywords are in the answer: one word alone
# is too easy to hit by chance (a plainly wrong answer touched all three points of a prompt with
# one keyword each).
KEYWORDS_TO_MARK = 2


def matched_keywords(prompt: Prompt, answer: str) -> list[list[str]]:
    """For each key point, its live keywords that the answer contains, as whole words (after a
    light stemming: "blocks" meets "blocking", "go" never meets "goroutine")."""
    answer_stems = stems(answer)
    return [[keyword for keyword in live_keywords(prompt, point.keywords) if keyword_in(keyword, answer_stems)]
            for point in prompt.key_points]


def touched(prompt: Prompt, answer: str) -> list[bool]:
    """For each key point, whether the answer matches at least KEYWORDS_TO_MARK of its keywords."""
    return [len(found) >= KEYWORDS_TO_MARK for found in matched_keywords(prompt, answer)]


# --- a quiz session ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    lesson: Lesson
    question: Prompt | Item

    @property
    def is_prompt(self) -> bool:
        return isinstance(self.question, Prompt)

    @property
    def key(self) -> str:
        return f"{self.lesson.id}/{self.question.id}"

    @property
    def item(self) -> Item:
        assert isinstance(self.question, Item), "not an auto-graded item"
        return self.question

    @property
    def prompt(self) -> Prompt:
        assert isinstance(self.question, Prompt), "not a prompt"
        return self.question


@dataclass
class ItemResult:
    question: Question
    correct: bool
    given: str
    resumed: bool = False            # answered before an interruption, in this same sitting


@dataclass
class PromptResult:
    question: Question
    rating: Rating | None            # None: skipped on purpose (":skip"), so not studied
    touched: int
    of: int
    resumed: bool = False

    @property
    def skipped(self) -> bool:
        return self.rating is None


@dataclass
class Session:
    """One sitting: the questions in the order they are asked, and what happened to each.

    The first answer to a question is what counts: it is scored and scheduled. The round of
    missed items offered at the end is practice and changes neither. Choices are shuffled once
    per sitting (``rng``); a lesson quiz that records keeps its answers in ``sittings`` so that
    an interrupted sitting resumes where it stopped.
    """

    questions: list[Question]
    progress: Progress | None
    mode: str = "quiz"               # quiz | review
    record: bool = True
    rng: random.Random = field(default_factory=make_rng)
    sittings: Sittings | None = None
    item_results: list[ItemResult] = field(default_factory=list)
    prompt_results: list[PromptResult] = field(default_factory=list)
    retry_correct: int = 0
    retried: int = 0
    orders: dict[str, tuple[int, ...]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    # --- asking -------------------------------------------------------------------------

    def order(self, question: Question) -> tuple[int, ...] | None:
        """How a choice item's choices are shown in this sitting (file indices, display order)."""
        item = question.question
        if not isinstance(item, Item) or item.kind != "choice":
            return None
        if question.key not in self.orders:
            self.orders[question.key] = shuffled_order(item, self.rng)
        return self.orders[question.key]

    def remaining(self) -> list[Question]:
        return [question for question in self.questions if question.key not in self.done]

    def answer_item(self, question: Question, raw: Any, *, moment: datetime | None = None) -> Grade:
        result = grade(question.item, raw, self.order(question))
        self._count_item(question, result.correct, result.given, moment)
        return result

    def give_up(self, question: Question, *, moment: datetime | None = None) -> Grade:
        """'?' a second time: the answer is shown, and that counts as a wrong answer (honest for the
        schedule; the explanation follows)."""
        self._count_item(question, False, "?", moment)
        return Grade(item=question.item, correct=False, given="?")

    def _count_item(self, question: Question, correct: bool, given: str, moment: datetime | None) -> None:
        self.item_results.append(ItemResult(question, correct, given))
        self.done.add(question.key)
        if self.record and self.progress is not None:
            self.progress.review(question.lesson.id, question.question, rating_for(correct),
                                 correct=correct, mode=self.mode, moment=moment)
        self._remember(question, "correct" if correct else "wrong", given)

    def rate_prompt(self, question: Question, rating: Rating, answer: str, *,
                    moment: datetime | None = None) -> None:
        marks = touched(question.prompt, answer)
        self.prompt_results.append(PromptResult(question, rating, sum(marks), len(marks)))
        self.done.add(question.key)
        if self.record and self.progress is not None:
            self.progress.review(question.lesson.id, question.question, rating, mode=self.mode,
                                 moment=moment)
        self._remember(question, RATING_NAMES[rating], f"{sum(marks)}/{len(marks)}")

    def skip_prompt(self, question: Question) -> None:
        """':skip': passed over on purpose; nothing is scheduled, so the prompt stays unstudied."""
        self.prompt_results.append(PromptResult(question, None, 0, len(question.prompt.key_points)))
        self.done.add(question.key)
        self._remember(question, "skipped")

    def retry_item(self, question: Question, raw: Any) -> Grade:
        """Practice on a missed item: graded, but neither scored nor scheduled."""
        result = grade(question.item, raw, self.order(question))
        self.retried += 1
        self.retry_correct += result.correct
        return result

    def retry_give_up(self, question: Question) -> Grade:
        self.retried += 1
        return Grade(item=question.item, correct=False, given="?")

    # --- resuming -----------------------------------------------------------------------

    def _remember(self, question: Question, outcome: str, given: str = "") -> None:
        if self.sittings is not None and self.record and self.mode == "quiz":
            self.sittings.record(question.lesson.id, question.question.id, question.question.text_hash(),
                                 outcome, given)

    def resume(self) -> int:
        """Take back the answers of this lesson's interrupted sitting (those whose question is
        unchanged); returns how many. Their progress was saved when they were given."""
        if self.sittings is None:
            return 0
        restored = 0
        for question in self.questions:
            saved = self.sittings.answers(question.lesson.id).get(question.question.id)
            if not isinstance(saved, dict) or saved.get("hash") != question.question.text_hash():
                continue
            outcome = saved.get("outcome")
            given = str(saved.get("given", ""))
            if question.is_prompt:
                if outcome == "skipped":
                    result = PromptResult(question, None, 0, len(question.prompt.key_points), resumed=True)
                elif isinstance(outcome, str) and outcome.lower() in RATINGS_BY_NAME:
                    touched_count, _, of = given.partition("/")
                    result = PromptResult(question, RATINGS_BY_NAME[outcome.lower()],
                                          int(touched_count) if touched_count.isdigit() else 0,
                                          int(of) if of.isdigit() else len(question.prompt.key_points),
                                          resumed=True)
                else:
                    continue
                self.prompt_results.append(result)
            elif outcome in ("correct", "wrong"):
                self.item_results.append(ItemResult(question, outcome == "correct", given, resumed=True))
            else:
                continue
            self.done.add(question.key)
            restored += 1
        if restored == len(self.questions):          # it had in fact ended: start a new sitting
            self.restart()
            return 0
        return restored

    def restart(self) -> None:
        """Forget the interrupted sitting (``--restart``); its answers stay in the schedule."""
        self.item_results = [r for r in self.item_results if not r.resumed]
        self.prompt_results = [r for r in self.prompt_results if not r.resumed]
        self.done.clear()
        if self.sittings is not None:
            for lesson_id in {question.lesson.id for question in self.questions}:
                self.sittings.clear(lesson_id)

    # --- the score ----------------------------------------------------------------------

    def missed(self) -> list[Question]:
        return [result.question for result in self.item_results if not result.correct]

    @property
    def correct(self) -> int:
        return sum(result.correct for result in self.item_results)

    @property
    def graded(self) -> int:
        return len(self.item_results)

    def score(self) -> float:
        return self.correct / self.graded if self.graded else 0.0

    def finish(self, lesson: Lesson | None, pass_mark: float) -> bool:
        """Store the attempt on the lesson when every one of its items was answered; the sitting
        is over, so there is nothing left to resume."""
        passed = self.score() >= pass_mark
        if (self.record and self.progress is not None and lesson is not None and self.mode == "quiz"
                and self.graded == len(lesson.items)):
            self.progress.record_attempt(lesson.id, self.score(), passed, mode=self.mode)
        if self.sittings is not None and lesson is not None:
            self.sittings.clear(lesson.id)
        return passed


def lesson_questions(lesson: Lesson) -> list[Question]:
    return [Question(lesson, question) for question in lesson.questions()]


def due_questions(lessons: list[Lesson], progress: Progress, moment: datetime) -> list[Question]:
    """What ``--review`` asks: studied questions whose review is due, lesson by lesson, prompts
    first. New questions, and questions edited since they were studied, are not due: they are
    waiting in their lesson's quiz."""
    return [Question(lesson, question)
            for lesson in lessons
            for question in lesson.questions()
            if progress.view(lesson.id, question).is_due(moment)]


# --- the answers-file mode ---------------------------------------------------------------------

def read_answers_file(path: Path, text: str | None = None) -> dict[str, Any]:
    """A TOML or JSON file mapping item id to answer. ``text`` is given when read from stdin."""
    shown = "standard input" if str(path) == "-" else str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EnvironmentProblem(f"no answers file at {shown}",
                                     "Write one as described in lessons/FORMAT.md") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise EnvironmentProblem(f"cannot read answers file {shown}: {exc}") from None
    stripped = text.lstrip()
    as_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".toml" and stripped.startswith("{"))
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvironmentProblem(f"{shown}: invalid JSON: {exc}",
                                 "The answers file maps item ids to answers, e.g. {\"blocking-rps\": 20}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EnvironmentProblem(f"{shown}: invalid TOML: {exc}",
                                 "The answers file maps item ids to answers, e.g. blocking-rps = 20") from None
    if isinstance(data, dict) and set(data) == {"answers"} and isinstance(data["answers"], dict):
        data = data["answers"]
    if not isinstance(data, dict):
        raise EnvironmentProblem(f"{shown}: must map item ids to answers",
                                 "e.g. {\"blocking-rps\": 20, \"event-loop\": \"b\"}")
    return data


@dataclass(frozen=True)
class FileResult:
    item: Item
    status: str                      # correct | wrong | missing | invalid
    given: Any
    understood: str | None
    message: str | None = None

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def to_json(self) -> GradedItem:
        graded: GradedItem = {"id": self.item.id, "kind": self.item.kind, "status": self.status,
                              "correct": self.correct, "given": self.given,
                              "understood_as": self.understood, "expected": self.item.answer_display()}
        if self.message:
            graded["message"] = self.message
        if not self.correct:
            graded["explanation"] = self.item.explanation
        return graded


@dataclass(frozen=True)
class FileGrade:
    lesson: Lesson
    results: list[FileResult]
    unknown_ids: list[str]
    prompt_ids: list[str]
    pass_mark: float

    @property
    def correct(self) -> int:
        return sum(result.correct for result in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    def score(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.score() >= self.pass_mark

    def to_json(self) -> QuizGradeDocument:
        return {
            "schema": "labctl.quiz.grade/1",
            "lesson": self.lesson.id,
            "score": round(self.score(), 4),
            "correct": self.correct,
            "total": self.total,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "items": [result.to_json() for result in self.results],
            "unknown_ids": self.unknown_ids,
            "prompts_not_graded": self.prompt_ids,
        }


def grade_file(lesson: Lesson, answers: dict[str, Any], pass_mark: float) -> FileGrade:
    """Grade every auto-graded item of the lesson; a missing or unreadable answer counts as wrong."""
    results = []
    for item in lesson.items:
        if item.id not in answers:
            results.append(FileResult(item, "missing", None, None, "no answer given"))
            continue
        raw = answers[item.id]
        try:
            result = grade(item, raw)
        except InvalidAnswer as exc:
            results.append(FileResult(item, "invalid", raw, None, str(exc)))
            continue
        results.append(FileResult(item, "correct" if result.correct else "wrong", raw, result.given))
    item_ids = {item.id for item in lesson.items}
    prompt_ids = [key for key in answers if any(p.id == key for p in lesson.prompts)]
    unknown = [key for key in answers if key not in item_ids and key not in prompt_ids]
    return FileGrade(lesson, results, unknown, prompt_ids, pass_mark)


def record_file_grade(graded: FileGrade, progress: Progress) -> None:
    """An answers file is a real attempt: answered items are scheduled (missing ones are not)."""
    for result in graded.results:
        if result.status in ("correct", "wrong", "invalid"):
            progress.review(graded.lesson.id, result.item, rating_for(result.correct),
                            correct=result.correct, mode="answers", save=False)
    progress.save()
    progress.record_attempt(graded.lesson.id, graded.score(), graded.passed, mode="answers")
