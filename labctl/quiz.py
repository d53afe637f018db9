"""The quiz, without any printing: parsing and grading answers, marking key points, the session.

Terminal rendering and prompting live in ``labctl.quiz_ui``; the answers-file mode is graded here
too, so ``labctl quiz LESSON --answers FILE`` and an interactive session use the same rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tomllib
from fsrs import Rating

from labctl.errors import EnvironmentProblem
from labctl.lessons import LETTERS, Item, Lesson, Prompt, format_number
from labctl.progress import Progress, rating_for

DEFAULT_PASS_MARK = 0.7


class InvalidAnswer(ValueError):
    """An answer that cannot be read for this kind of item (not the same as a wrong answer)."""


# --- parsing and grading -----------------------------------------------------------------------

_TRUE = {"t", "true", "y", "yes"}
_FALSE = {"f", "false", "n", "no"}
_NUMBER = re.compile(r"^[-+]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?")


def parse_answer(item: Item, raw: Any) -> Any:
    """The learner's answer as the item's kind of value: a choice index, a bool or a float."""
    if item.kind == "choice":
        return _parse_choice(item, raw)
    if item.kind == "true_false":
        return _parse_bool(raw)
    return _parse_number(item, raw)


def _parse_choice(item: Item, raw: Any) -> int:
    letters = f"a–{LETTERS[len(item.choices) - 1]}"
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise InvalidAnswer(f"give the letter of a choice ({letters})")
    text = raw.strip()
    wanted = text.lower().rstrip(").")
    if len(wanted) == 1 and wanted in LETTERS[:len(item.choices)]:
        return LETTERS.index(wanted)
    for index, choice in enumerate(item.choices):
        if " ".join(choice.lower().split()) == " ".join(text.lower().split()):
            return index
    raise InvalidAnswer(f"'{text}' is not one of the choices: give a letter ({letters})")


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise InvalidAnswer("answer true or false (t/f)")


def _parse_number(item: Item, raw: Any) -> float:
    if isinstance(raw, bool):
        raise InvalidAnswer("give a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    if not isinstance(raw, str):
        raise InvalidAnswer("give a number")
    text = raw.strip()
    match = _NUMBER.match(text)
    rest = text[match.end():].strip() if match else text
    if not match or any(ch.isdigit() for ch in rest) or rest.startswith(("/", "*", "+", "-", "x")):
        unit = f" (in {item.unit})" if item.unit else ""
        raise InvalidAnswer(f"give one number{unit}, e.g. 20")
    try:
        return float(match.group(0).replace(",", "").replace("_", ""))
    except ValueError:
        raise InvalidAnswer("give a number, e.g. 20") from None


def is_correct(item: Item, value: Any) -> bool:
    if item.kind == "numeric":
        # A tiny epsilon so that a tolerance of 0.1 accepts 20.1 despite binary floating point.
        return abs(value - item.answer) <= item.tolerance + 1e-9 * max(1.0, abs(item.answer))
    return value == item.answer


def display_value(item: Item, value: Any) -> str:
    if item.kind == "choice":
        return f"{LETTERS[value]}) {item.choices[value]}"
    if item.kind == "true_false":
        return "true" if value else "false"
    return format_number(value, item.unit)


@dataclass(frozen=True)
class Grade:
    item: Item
    correct: bool
    given: str                       # the answer as understood, for display


def grade(item: Item, raw: Any) -> Grade:
    """Grade one answer; ``InvalidAnswer`` if it cannot be read as this item's kind."""
    value = parse_answer(item, raw)
    return Grade(item=item, correct=is_correct(item, value), given=display_value(item, value))


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


def touched(prompt: Prompt, answer: str) -> list[bool]:
    """For each reference key point, whether the answer mentions one of its keywords."""
    answer_stems = stems(answer)
    return [any(keyword_in(keyword, answer_stems) for keyword in point.keywords)
            for point in prompt.key_points]


# --- a quiz session ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    lesson: Lesson
    question: Prompt | Item

    @property
    def is_prompt(self) -> bool:
        return isinstance(self.question, Prompt)


@dataclass
class ItemResult:
    question: Question
    correct: bool
    given: str


@dataclass
class PromptResult:
    question: Question
    rating: Rating
    touched: int
    of: int


@dataclass
class Session:
    """One sitting: the questions in the order they are asked, and what happened to each.

    The first answer to a question is what counts: it is scored and scheduled. The round of
    missed items offered at the end is practice and changes neither.
    """

    questions: list[Question]
    progress: Progress | None
    mode: str = "quiz"               # quiz | review
    record: bool = True
    item_results: list[ItemResult] = field(default_factory=list)
    prompt_results: list[PromptResult] = field(default_factory=list)
    retry_correct: int = 0
    retried: int = 0

    def answer_item(self, question: Question, raw: Any, *, moment: datetime | None = None) -> Grade:
        result = grade(question.question, raw)
        self.item_results.append(ItemResult(question, result.correct, result.given))
        if self.record and self.progress is not None:
            self.progress.review(question.lesson.id, question.question, rating_for(result.correct),
                                 correct=result.correct, mode=self.mode, moment=moment)
        return result

    def rate_prompt(self, question: Question, rating: Rating, answer: str, *,
                    moment: datetime | None = None) -> None:
        marks = touched(question.question, answer)
        self.prompt_results.append(PromptResult(question, rating, sum(marks), len(marks)))
        if self.record and self.progress is not None:
            self.progress.review(question.lesson.id, question.question, rating, mode=self.mode,
                                 moment=moment)

    def retry_item(self, question: Question, raw: Any) -> Grade:
        """Practice on a missed item: graded, but neither scored nor scheduled."""
        result = grade(question.question, raw)
        self.retried += 1
        self.retry_correct += result.correct
        return result

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
        """Store the attempt on the lesson when every one of its items was answered."""
        passed = self.score() >= pass_mark
        if (self.record and self.progress is not None and lesson is not None and self.mode == "quiz"
                and self.graded == len(lesson.items)):
            self.progress.record_attempt(lesson.id, self.score(), passed, mode=self.mode)
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

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "labctl.quiz.grade/1",
            "lesson": self.lesson.id,
            "score": round(self.score(), 4),
            "correct": self.correct,
            "total": self.total,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "items": [
                {
                    "id": result.item.id,
                    "kind": result.item.kind,
                    "status": result.status,
                    "correct": result.correct,
                    "given": result.given,
                    "understood_as": result.understood,
                    "expected": result.item.answer_display(),
                    **({"message": result.message} if result.message else {}),
                    **({"explanation": result.item.explanation} if not result.correct else {}),
                }
                for result in self.results
            ],
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
