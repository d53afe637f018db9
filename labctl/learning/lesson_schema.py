"""The lesson front matter as a declarative schema (msgspec), and the rules no schema can say.

``LessonSpec`` states the shape of the TOML: which fields, of which types, which are required;
unknown fields are refused, since they are nearly always typos (``explaination``). msgspec reports
the first fault as ``Expected `int`, got `str` - at `$.order```; ``translate`` turns that into
labctl's ``field.path: message`` form. The rules between fields (the id equals the file name, ids
are unique, the answer is one of the choices, …) follow as a short list of checks, ``CHECKS``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from labctl.learning import answer_units as units

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
PROMPTS_PER_LESSON = 3
MAX_CHOICES = 8
LETTERS = "abcdefgh"
SKILLS = ("recall", "predict", "explain", "apply")
# Choices that would make a second answer correct, or make the right one depend on the others.
AMBIGUOUS_CHOICES = re.compile(
    r"^(all|none|both|neither) of the (above|others|these)\b|^(all|none) of these\b|"
    r"^(both|either|neither) [a-h] (and|or|nor) [a-h]\b|^[a-h] and [a-h]\b",
    re.IGNORECASE)

Text = Annotated[str, Meta(pattern=r"\S")]           # a string with something in it
Id = Annotated[str, Meta(pattern=ID_PATTERN)]
Skill = Literal["recall", "predict", "explain", "apply"]


class _Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class KeyPointSpec(_Strict, kw_only=True):
    text: Text
    keywords: Annotated[list[Text], Meta(min_length=1)]


class PromptSpec(_Strict, kw_only=True):
    text: Text
    hint: Text
    key_points: Annotated[list[KeyPointSpec], Meta(min_length=1)]
    id: Id | None = None


class TryItSpec(_Strict, kw_only=True):
    command: Text
    what_to_notice: Text


class SnippetSpec(_Strict, kw_only=True):
    title: Text
    language: Text
    code: Text


class DemoSpec(_Strict, kw_only=True):
    intro: str = ""
    servers: list[Text] = []
    files: list[Text] = []
    snippets: list[SnippetSpec] = []


class LabSpec(_Strict, kw_only=True):
    commands: Annotated[list[Annotated[list[Text], Meta(min_length=1)]], Meta(min_length=1)]
    description: str = ""
    exercises: list[Id] = []         # exercises/ folders that practise this lesson


class _ItemSpec(_Strict, tag_field="kind", kw_only=True):
    id: Id
    question: Text
    explanation: Text
    hint: str = ""                   # shown at the first "?"; a nudge, never the answer
    skill: Skill = "recall"
    transfer: bool = False           # a new number, setting, stack or output the lesson never showed
    source: str = ""                 # required on shipped lessons by `labctl lessons check`
    misconception: str = ""


class ChoiceSpec(_ItemSpec, tag="choice", kw_only=True):
    choices: Annotated[list[Text], Meta(min_length=2, max_length=MAX_CHOICES)]
    answer: str                      # a letter in file order, or the exact text of a choice


class TrueFalseSpec(_ItemSpec, tag="true_false", kw_only=True):
    answer: bool


class NumericSpec(_ItemSpec, tag="numeric", kw_only=True):
    answer: float                    # in `unit`
    tolerance: Annotated[float, Meta(ge=0)] = 0.0
    unit: str = ""                   # one of units.FILE_UNITS; declares the dimension


ItemSpec = Union[ChoiceSpec, TrueFalseSpec, NumericSpec]
ITEM_KINDS = {"choice": ChoiceSpec, "true_false": TrueFalseSpec, "numeric": NumericSpec}


class LessonSpec(_Strict, kw_only=True):
    format_version: int
    id: Id
    title: Text
    order: Annotated[int, Meta(ge=0)]
    summary: Text
    # What the facts and figures hold for: component → version, e.g. go = "1.26", node = "22".
    # Optional in the schema (drafts load); `labctl lessons check` requires it (lesson_versions).
    versions: dict[Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$")], Text] = {}
    try_it: Annotated[list[TryItSpec], Meta(min_length=1)]
    demo: DemoSpec = msgspec.field(default_factory=DemoSpec)
    lab: LabSpec | None = None
    prompts: list[PromptSpec]
    items: Annotated[list[ItemSpec], Meta(min_length=1)]


class Fault(Exception):
    """One fault in a lesson: where (``items[3].answer``), what, and what to do."""

    def __init__(self, where: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.hint = hint


def parse(data: dict[str, Any], body: str, file_stem: str) -> LessonSpec:
    """Validate the front matter; raises ``Fault`` for the first fault found."""
    check_format_version(data)
    try:
        spec = msgspec.convert(data, LessonSpec)
    except msgspec.ValidationError as exc:
        raise translate(str(exc), data) from None
    for check in CHECKS:
        check(spec, body, file_stem)
    return spec


# --- msgspec's messages in labctl's words -------------------------------------------------------

_TYPE_WORDS = {"str": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
               "array": "an array", "object": "a table"}
# What a field must be, where its type alone says too little.
_FIELD_WORDS = {"order": "a whole number ≥ 0", "format_version": "a whole number ≥ 1",
                "tolerance": "a number ≥ 0", "commands": 'an array of arrays, e.g. [["run", "go"]]'}
_TOO_SHORT = {"try_it": "must list at least one command", "items": "must have at least one auto-graded item",
              "key_points": "must list at least one key point",
              "keywords": "must list at least one keyword (used to mark the point as touched)"}
_MESSAGE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def translate(message: str, data: dict[str, Any]) -> Fault:
    match = _MESSAGE.match(message)
    assert match is not None
    what, path = match.group("what"), (match.group("path") or "").lstrip(".")
    value = _value_at(data, path)
    field = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
    if found := re.match(r"Object missing required field `(\w+)`", what):
        return Fault(_join(path, found.group(1)), "missing (required)")
    if found := re.match(r"Object contains unknown field `(\w+)`", what):
        known = _known_fields(path, data)
        return Fault(_join(path, found.group(1)), "unknown field",
                     "Known fields here: " + ", ".join(known) if known else None)
    if field == "kind" and what.startswith("Invalid value"):
        return Fault(path, f"{value!r} is not a kind of item", "Use one of: " + ", ".join(ITEM_KINDS))
    if field == "skill":
        return Fault(path, f"{value!r} is not a skill", "Use one of: " + ", ".join(SKILLS))
    if "matching regex '\\\\S'" in what or "matching regex '\\S'" in what:
        return Fault(path, "must not be empty")
    if "matching regex" in what:
        return Fault(path, f"'{value}' is not a valid id",
                     "Use lower-case letters, digits and dashes, e.g. 'blocking-rps'")
    if found := re.match(r"Expected `\w+` >= (\S+)$", what):
        return Fault(path, f"must be ≥ {_number(found.group(1))}, not {_shown(value)}")
    if "of length" in what:
        if field in _TOO_SHORT and isinstance(value, list) and not value:
            return Fault(path, _TOO_SHORT[field])
        if field == "choices":
            return Fault(path, f"must have 2 to {MAX_CHOICES} choices (found {len(value or [])})")
        return Fault(path, "must not be an empty array")
    if field == "answer" and isinstance(value, list):
        return Fault(path, f"exactly one correct answer is allowed (found {len(value)})",
                     'Give one letter, e.g. answer = "b"')
    if found := re.match(r"Expected `(\w+)(?: \| \w+)*`, got `(\w+)`", what):
        wanted = _FIELD_WORDS.get(field) or _TYPE_WORDS.get(found.group(1), f"a {found.group(1)}")
        if field == "answer":
            wanted = {"str": "a letter or the text of a choice", "bool": "true or false",
                      "float": "a number"}.get(found.group(1), wanted)
        return Fault(path, f"must be {wanted}, not {_shown(value)}")
    return Fault(path or "front matter", what)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value_at(data: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            data = data[int(part[1:-1])] if part.startswith("[") else data[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return data


def _known_fields(path: str, data: dict[str, Any]) -> list[str]:
    shape = re.sub(r"\[\d+\]", "", path)
    spec: Any = {"": LessonSpec, "try_it": TryItSpec, "demo": DemoSpec,
                                 "demo.snippets": SnippetSpec, "lab": LabSpec, "prompts": PromptSpec,
                                 "prompts.key_points": KeyPointSpec}.get(shape)
    if shape == "items":
        entry = _value_at(data, path)
        spec = ITEM_KINDS.get(str(entry.get("kind"))) if isinstance(entry, dict) else None
    if spec is None:
        return []
    return sorted([*spec.__struct_fields__, *(["kind"] if shape == "items" else [])])


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def _shown(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)):
        return repr(value)
    return {list: "an array", dict: "a table", type(None): "nothing"}.get(type(value), type(value).__name__)


# --- the rules between fields --------------------------------------------------------------------

def check_format_version(data: dict[str, Any], current: int = 1) -> None:
    if "format_version" not in data:
        raise Fault("format_version", "missing (required)",
                    f"Add 'format_version = {current}' at the top of the front matter")
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Fault("format_version", f"must be a whole number ≥ 1, not {version!r}")
    if version > current:
        raise Fault("format_version", f"{version} is written for a newer labctl (this one reads format "
                                      f"{current})", "Upgrade labctl to use this lesson")


def _id_is_the_file_name(spec: LessonSpec, body: str, stem: str) -> None:
    if spec.id != stem:
        raise Fault("id", f"'{spec.id}' must match the file name '{stem}'",
                    "Rename the file or change the id; progress is stored by lesson id")


def _has_prose(spec: LessonSpec, body: str, stem: str) -> None:
    if not body.strip():
        raise Fault("body", "the lesson has no prose after the front matter")


def _three_prompts(spec: LessonSpec, body: str, stem: str) -> None:
    if len(spec.prompts) != PROMPTS_PER_LESSON:
        raise Fault("prompts", f"must be exactly {PROMPTS_PER_LESSON}, in order (found {len(spec.prompts)})")


def question_ids(spec: LessonSpec) -> Iterator[tuple[str, str]]:
    """(where, id) of every prompt and item; a prompt without an id is prompt-1, -2, -3."""
    for index, prompt in enumerate(spec.prompts):
        yield f"prompts[{index}]", prompt.id or f"prompt-{index + 1}"
    for index, item in enumerate(spec.items):
        yield f"items[{index}]", item.id


def _unique_ids(spec: LessonSpec, body: str, stem: str) -> None:
    seen: dict[str, str] = {}
    for where, question_id in question_ids(spec):
        if question_id in seen:
            raise Fault(f"{where}.id", f"'{question_id}' is already the id of {seen[question_id]}",
                        "Every prompt and item needs its own id: progress is stored by id")
        seen[question_id] = where


def _one_answer_among_distinct_choices(spec: LessonSpec, body: str, stem: str) -> None:
    for index, item in enumerate(spec.items):
        if not isinstance(item, ChoiceSpec):
            continue
        where = f"items[{index}]"
        seen: dict[str, int] = {}
        for number, choice in enumerate(item.choices):
            folded = " ".join(choice.lower().split())
            if folded in seen:
                raise Fault(f"{where}.choices[{number}]",
                            f"same text as choices[{seen[folded]}]: an item needs exactly one correct answer")
            if AMBIGUOUS_CHOICES.match(choice.strip()):
                raise Fault(f"{where}.choices[{number}]", f"'{choice.strip()}' makes more than one choice "
                            "correct, or names another choice (choices are shuffled)",
                            "Write each choice as a statement that stands alone")
            seen[folded] = number
        if choice_index(item.answer, item.choices) is None:
            raise Fault(f"{where}.answer", "must be one of the choices (a letter "
                        f"a–{LETTERS[len(item.choices) - 1]} or the exact text of a choice), not {item.answer!r}")


def _numbers_and_units(spec: LessonSpec, body: str, stem: str) -> None:
    for index, item in enumerate(spec.items):
        if not isinstance(item, NumericSpec):
            continue
        for name, value in (("answer", item.answer), ("tolerance", item.tolerance)):
            if not math.isfinite(value):
                raise Fault(f"items[{index}].{name}", f"must be a finite number, not {value!r}")
        if units.file_unit(item.unit) is None:
            raise Fault(f"items[{index}].unit", f"'{item.unit}' is not a unit a lesson may declare",
                        "Use one of: " + ", ".join(repr(u) for u in units.FILE_UNITS) + " (lessons/FORMAT.md)")


def _demo_and_lab(spec: LessonSpec, body: str, stem: str) -> None:
    from labctl import servers
    from labctl.errors import LabctlError

    for index, name in enumerate(spec.demo.servers):
        try:
            servers.get(name.strip())
        except LabctlError:
            raise Fault(f"demo.servers[{index}]", f"unknown server '{name}'",
                        "Use go, python, rust or node") from None
    for index, name in enumerate(spec.demo.files):
        if name.startswith("/") or ".." in Path(name).parts:
            raise Fault(f"demo.files[{index}]", f"'{name}' must be a path inside servers/")
    for index, argv in enumerate(spec.lab.commands if spec.lab else []):
        if argv[0] == "labctl":
            raise Fault(f"lab.commands[{index}]",
                        "leave out 'labctl': list only its arguments, e.g. [\"run\", \"go\"]")


CHECKS: list[Callable[[LessonSpec, str, str], None]] = [
    _id_is_the_file_name, _has_prose, _three_prompts, _unique_ids,
    _one_answer_among_distinct_choices, _numbers_and_units, _demo_and_lab,
]


def choice_index(answer: str, choices: list[str] | tuple[str, ...]) -> int | None:
    """The file position a choice answer names: a letter (a–h, in file order) or a choice's text."""
    wanted = answer.strip()
    if len(wanted) == 1 and wanted.lower() in LETTERS[:len(choices)]:
        return LETTERS.index(wanted.lower())
    for index, choice in enumerate(choices):
        if " ".join(choice.split()) == " ".join(wanted.split()):
            return index
    return None
