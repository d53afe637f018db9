"""Lesson files: load, validate, look up.

A lesson is one Markdown file, ``lessons/NNN-slug.md``, that opens with TOML front matter between
two ``+++`` lines (the schema: try-it commands, prompts, quiz items) followed by the prose. The
format is documented for authors in ``lessons/FORMAT.md``.

Every fault in a lesson becomes a ``LessonError`` that names the file and the field at fault,
e.g. ``lessons/003-first-bottleneck.md: items[4].answer: must be one of the choices`` — never a
traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from labctl import paths
from labctl.errors import EnvironmentProblem, LabctlError

FORMAT_VERSION = 1
ITEM_KINDS = ("choice", "true_false", "numeric")
PROMPTS_PER_LESSON = 3
MAX_CHOICES = 8
LETTERS = "abcdefgh"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LESSON_FILE_RE = re.compile(r"^(\d{3})-([a-z0-9][a-z0-9-]*)\.md$")
# Choices that would make a second answer correct, or make the right one depend on the others.
AMBIGUOUS_CHOICES = re.compile(r"^(all|none|both|neither) of the (above|others)\b|^(all|none) of these\b",
                               re.IGNORECASE)


class LessonError(EnvironmentProblem):
    """A lesson file that cannot be used; the message names the file and the field at fault."""

    def __init__(self, file: str, where: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{file}: {where}: {problem}" if where else f"{file}: {problem}", hint)
        self.file = file
        self.where = where
        self.problem = problem


# --- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyPoint:
    text: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    key_points: tuple[KeyPoint, ...]
    hint: str
    number: int                     # 1, 2, 3: the order they are asked in

    kind = "prompt"

    @property
    def question(self) -> str:
        return self.text

    def text_hash(self) -> str:
        return _hash("prompt", self.text)


@dataclass(frozen=True)
class Item:
    id: str
    kind: str                        # choice | true_false | numeric
    question: str
    explanation: str
    choices: tuple[str, ...] = ()
    answer: Any = None               # choice: index into choices; true_false: bool; numeric: float
    tolerance: float = 0.0
    unit: str = ""
    source: str = ""                 # where the fact comes from, e.g. "Q7" in the interview lesson
    misconception: str = ""          # the wrong belief the item tests, if it tests one

    def text_hash(self) -> str:
        """What identifies this version of the item: editing any of it resets only its progress.

        Whitespace is normalised first, so re-wrapping a question does not count as an edit.
        """
        if self.kind == "choice":
            return _hash(self.kind, self.question, *self.choices, str(self.answer))
        if self.kind == "numeric":
            return _hash(self.kind, self.question, repr(float(self.answer)), repr(self.tolerance))
        return _hash(self.kind, self.question, str(self.answer))

    def answer_display(self) -> str:
        if self.kind == "choice":
            return f"{LETTERS[self.answer]}) {self.choices[self.answer]}"
        if self.kind == "true_false":
            return "true" if self.answer else "false"
        return format_number(self.answer, self.unit)


@dataclass(frozen=True)
class TryIt:
    command: str
    what_to_notice: str


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str
    code: str


@dataclass(frozen=True)
class Demo:
    intro: str = ""
    servers: tuple[str, ...] = ()    # server names: their source files are shown from servers/
    files: tuple[str, ...] = ()      # other files, relative to servers/
    snippets: tuple[Snippet, ...] = ()


@dataclass(frozen=True)
class Lab:
    commands: tuple[tuple[str, ...], ...]
    description: str = ""


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    order: int
    summary: str
    body: str
    try_it: tuple[TryIt, ...]
    demo: Demo
    lab: Lab | None
    prompts: tuple[Prompt, ...]
    items: tuple[Item, ...]
    path: Path
    display_path: str

    @property
    def number(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def slug(self) -> str:
        return self.id.split("-", 1)[1] if "-" in self.id else self.id

    def questions(self) -> tuple[Prompt | Item, ...]:
        """Everything the quiz asks, in order: the three prompts, then the auto-graded items."""
        return (*self.prompts, *self.items)

    def question(self, question_id: str) -> Prompt | Item | None:
        for question in self.questions():
            if question.id == question_id:
                return question
        return None


def _hash(*parts: str) -> str:
    normalised = "\x1f".join(" ".join(part.split()) for part in parts)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def format_number(value: float, unit: str = "") -> str:
    text = f"{value:g}" if abs(value) < 1e15 else str(value)
    return f"{text} {unit}".strip()


# --- where lessons live ------------------------------------------------------------------------

def lessons_root() -> Path:
    """The folder lessons are read from: LABCTL_LESSONS_DIR if set (authors, tests), else the
    lessons shipped with labctl."""
    configured = os.environ.get("LABCTL_LESSONS_DIR")
    return Path(configured) if configured else paths.lessons_dir()


def display_path(path: Path) -> str:
    """``lessons/003-first-bottleneck.md`` for shipped lessons, a path relative to the current
    directory (or absolute) for anything else."""
    resolved = path.resolve()
    for base in (paths.resource_root(), Path.cwd()):
        try:
            return resolved.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def lesson_files(directory: Path) -> list[Path]:
    """Every lesson file in ``directory``: ``*.md`` except upper-case docs such as FORMAT.md."""
    if not directory.is_dir():
        raise EnvironmentProblem(f"no lessons folder at {directory}",
                                 "Reinstall labctl, or point LABCTL_LESSONS_DIR at a folder of lessons")
    return sorted(p for p in directory.glob("*.md") if p.is_file() and not p.name[:1].isupper())


# --- loading -------------------------------------------------------------------------------------

def load_lesson(path: Path) -> Lesson:
    """Read and validate one lesson file; a fault raises ``LessonError`` naming file and field."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LessonError(shown, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise LessonError(shown, "", f"cannot be read ({exc.strerror or exc})") from None
    front, body, first_line = _split_front_matter(text, shown)
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(shown, "front matter", f"invalid TOML: {_shift_lines(str(exc), first_line)}",
                          "Fix the TOML between the +++ lines") from None
    return _Validator(shown, path).lesson(data, body)


def _split_front_matter(text: str, shown: str) -> tuple[str, str, int]:
    """(front matter, body, line number of the front matter's first line)."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "+++":
        raise LessonError(shown, "front matter", "the file must start with a line '+++'",
                          "Put the TOML front matter between two '+++' lines at the top (see lessons/FORMAT.md)")
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == "+++":
            return "".join(lines[start + 1:end]), "".join(lines[end + 1:]), start + 2
    raise LessonError(shown, "front matter", "no closing '+++' line",
                      "End the TOML front matter with a line '+++'")


def _shift_lines(message: str, first_line: int) -> str:
    """tomllib counts lines from the start of the front matter; report lines of the file."""
    return re.sub(r"at line (\d+)",
                  lambda m: f"at line {int(m.group(1)) + first_line - 1}", message)


def load_all(directory: Path | None = None) -> tuple[list[Lesson], list[LessonError]]:
    """Every lesson that loads, sorted by order, and the faults of those that do not.

    Commands that use lessons show the good ones and warn about the broken ones;
    ``labctl lessons check`` reports every fault and fails.
    """
    directory = directory or lessons_root()
    lessons: list[Lesson] = []
    problems: list[LessonError] = []
    seen: dict[str, Lesson] = {}
    for path in lesson_files(directory):
        try:
            lesson = load_lesson(path)
        except LessonError as error:
            problems.append(error)
            continue
        if lesson.id in seen:
            problems.append(LessonError(lesson.display_path, "id",
                                        f"'{lesson.id}' is also the id of {seen[lesson.id].display_path}"))
            continue
        seen[lesson.id] = lesson
        lessons.append(lesson)
    lessons.sort(key=lambda lesson: (lesson.order, lesson.id))
    return lessons, problems


def find(query: str, lessons: list[Lesson]) -> Lesson:
    """A lesson by id, number ("3", "003"), a unique prefix of its slug or id, or failing that
    the unique start of one of the slug's words."""
    wanted = query.strip().lower()
    if not wanted:
        raise LabctlError("no lesson named", _choices_hint(lessons), exit_code=2)
    for lesson in lessons:
        if lesson.id == wanted:
            return lesson
    if wanted.isdigit():
        matches = [lesson for lesson in lessons
                   if lesson.number.isdigit() and int(lesson.number) == int(wanted)]
        if not matches:
            matches = [lesson for lesson in lessons if lesson.order == int(wanted)]
    else:
        matches = [lesson for lesson in lessons
                   if lesson.slug.startswith(wanted) or lesson.id.startswith(wanted)]
        if not matches:  # "bottleneck" for 003-first-bottleneck: the start of any word of the slug
            matches = [lesson for lesson in lessons
                       if any(word.startswith(wanted) for word in lesson.slug.split("-"))]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LabctlError(f"no lesson '{query}'", _choices_hint(lessons), exit_code=2)
    names = ", ".join(lesson.id for lesson in matches)
    raise LabctlError(f"'{query}' matches several lessons ({names})",
                      "Give more of the name, or the lesson's number", exit_code=2)


def _choices_hint(lessons: list[Lesson]) -> str:
    if not lessons:
        return "There are no lessons to choose from"
    return "Choose one of: " + ", ".join(f"{lesson.number} ({lesson.slug})" for lesson in lessons)


# --- validation ----------------------------------------------------------------------------------

_LESSON_KEYS = {"format_version", "id", "title", "order", "summary", "try_it", "demo", "lab",
                "prompts", "items"}
_PROMPT_KEYS = {"id", "text", "key_points", "hint"}
_KEY_POINT_KEYS = {"text", "keywords"}
_TRY_IT_KEYS = {"command", "what_to_notice"}
_DEMO_KEYS = {"intro", "servers", "files", "snippets"}
_SNIPPET_KEYS = {"title", "language", "code"}
_LAB_KEYS = {"commands", "description"}
_ITEM_KEYS = {
    "choice": {"id", "kind", "question", "choices", "answer", "explanation", "source", "misconception"},
    "true_false": {"id", "kind", "question", "answer", "explanation", "source", "misconception"},
    "numeric": {"id", "kind", "question", "answer", "tolerance", "unit", "explanation", "source",
                "misconception"},
}


class _Validator:
    def __init__(self, shown: str, path: Path) -> None:
        self.shown = shown
        self.path = path

    def fail(self, where: str, problem: str, hint: str | None = None) -> LessonError:
        return LessonError(self.shown, where, problem, hint)

    # generic field readers

    def table(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, f"must be a table, not {_type_name(data)}")
        return data

    def no_unknown(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                prefix = f"{where}." if where else ""
                raise self.fail(f"{prefix}{key}", "unknown field",
                                "Known fields here: " + ", ".join(sorted(allowed)))

    def string(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
        name = f"{where}.{key}" if where else key
        if key not in data:
            if required:
                raise self.fail(name, "missing (required)")
            return ""
        value = data[key]
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, not {_type_name(value)}")
        if required and not value.strip():
            raise self.fail(name, "must not be empty")
        return value.strip()

    def array(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> list[Any]:
        name = f"{where}.{key}" if where else key
        if key not in data:
            if required:
                raise self.fail(name, "missing (required)")
            return []
        value = data[key]
        if not isinstance(value, list):
            raise self.fail(name, f"must be an array, not {_type_name(value)}")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> tuple[str, ...]:
        name = f"{where}.{key}" if where else key
        values = self.array(data, key, where, required=required)
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise self.fail(f"{name}[{index}]", "must be a non-empty string")
        return tuple(value.strip() for value in values)

    def identifier(self, data: dict[str, Any], key: str, where: str) -> str:
        value = self.string(data, key, where)
        if not ID_RE.match(value):
            name = f"{where}.{key}" if where else key
            raise self.fail(name, f"'{value}' is not a valid id",
                            "Use lower-case letters, digits and dashes, e.g. 'blocking-rps'")
        return value

    # the lesson

    def lesson(self, data: dict[str, Any], body: str) -> Lesson:
        self.format_version(data)
        self.no_unknown(data, _LESSON_KEYS, "")
        lesson_id = self.identifier(data, "id", "")
        expected = self.path.stem
        if lesson_id != expected:
            raise self.fail("id", f"'{lesson_id}' must match the file name '{expected}'",
                            "Rename the file or change the id; progress is stored by lesson id")
        title = self.string(data, "title", "")
        if "order" not in data:
            raise self.fail("order", "missing (required)")
        order = data["order"]
        if not isinstance(order, int) or isinstance(order, bool) or order < 0:
            raise self.fail("order", f"must be a whole number ≥ 0, not {order!r}")
        summary = self.string(data, "summary", "")
        if not body.strip():
            raise self.fail("body", "the lesson has no prose after the front matter")

        try_it = tuple(self.try_it(entry, f"try_it[{i}]")
                       for i, entry in enumerate(self.array(data, "try_it", "")))
        if not try_it:
            raise self.fail("try_it", "must list at least one command")
        demo = self.demo(data.get("demo", {}), "demo")
        lab = self.lab(data["lab"], "lab") if "lab" in data else None

        raw_prompts = self.array(data, "prompts", "")
        if len(raw_prompts) != PROMPTS_PER_LESSON:
            raise self.fail("prompts", f"must be exactly {PROMPTS_PER_LESSON}, in order "
                                       f"(found {len(raw_prompts)})")
        prompts = tuple(self.prompt(entry, f"prompts[{i}]", i + 1) for i, entry in enumerate(raw_prompts))

        raw_items = self.array(data, "items", "")
        if not raw_items:
            raise self.fail("items", "must have at least one auto-graded item")
        items = tuple(self.item(entry, f"items[{i}]") for i, entry in enumerate(raw_items))

        seen: dict[str, str] = {}
        for where, question in [(f"prompts[{i}]", p) for i, p in enumerate(prompts)] + \
                               [(f"items[{i}]", it) for i, it in enumerate(items)]:
            if question.id in seen:
                raise self.fail(f"{where}.id", f"'{question.id}' is already the id of {seen[question.id]}",
                                "Every prompt and item needs its own id: progress is stored by id")
            seen[question.id] = where

        return Lesson(id=lesson_id, title=title, order=order, summary=summary, body=body.strip("\n"),
                      try_it=try_it, demo=demo, lab=lab, prompts=prompts, items=items,
                      path=self.path, display_path=self.shown)

    def format_version(self, data: dict[str, Any]) -> None:
        if "format_version" not in data:
            raise self.fail("format_version", "missing (required)",
                            f"Add 'format_version = {FORMAT_VERSION}' at the top of the front matter")
        version = data["format_version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail("format_version", f"must be a whole number ≥ 1, not {version!r}")
        if version > FORMAT_VERSION:
            raise self.fail("format_version",
                            f"{version} is written for a newer labctl (this one reads format "
                            f"{FORMAT_VERSION})", "Upgrade labctl to use this lesson")

    def try_it(self, entry: Any, where: str) -> TryIt:
        entry = self.table(entry, where)
        self.no_unknown(entry, _TRY_IT_KEYS, where)
        return TryIt(command=self.string(entry, "command", where),
                     what_to_notice=self.string(entry, "what_to_notice", where))

    def demo(self, entry: Any, where: str) -> Demo:
        entry = self.table(entry, where)
        self.no_unknown(entry, _DEMO_KEYS, where)
        from labctl import servers

        names = self.strings(entry, "servers", where, required=False)
        for index, name in enumerate(names):
            try:
                servers.get(name)
            except LabctlError:
                raise self.fail(f"{where}.servers[{index}]", f"unknown server '{name}'",
                                "Use go, python, rust or node") from None
        files = self.strings(entry, "files", where, required=False)
        for index, name in enumerate(files):
            if name.startswith("/") or ".." in Path(name).parts:
                raise self.fail(f"{where}.files[{index}]", f"'{name}' must be a path inside servers/")
        snippets = []
        for index, raw in enumerate(self.array(entry, "snippets", where, required=False)):
            snippet_where = f"{where}.snippets[{index}]"
            raw = self.table(raw, snippet_where)
            self.no_unknown(raw, _SNIPPET_KEYS, snippet_where)
            code = raw.get("code")
            if not isinstance(code, str) or not code.strip():
                raise self.fail(f"{snippet_where}.code", "missing or empty")
            snippets.append(Snippet(title=self.string(raw, "title", snippet_where),
                                    language=self.string(raw, "language", snippet_where),
                                    code=code.strip("\n")))
        return Demo(intro=self.string(entry, "intro", where, required=False), servers=names,
                    files=files, snippets=tuple(snippets))

    def lab(self, entry: Any, where: str) -> Lab:
        entry = self.table(entry, where)
        self.no_unknown(entry, _LAB_KEYS, where)
        commands = []
        raw_commands = self.array(entry, "commands", where)
        if not raw_commands:
            raise self.fail(f"{where}.commands", "must list at least one command")
        for index, argv in enumerate(raw_commands):
            name = f"{where}.commands[{index}]"
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
                raise self.fail(name, 'must be a non-empty array of strings, e.g. ["run", "go"]')
            if argv[0] == "labctl":
                raise self.fail(name, "leave out 'labctl': list only its arguments, e.g. [\"run\", \"go\"]")
            commands.append(tuple(argv))
        return Lab(commands=tuple(commands),
                   description=self.string(entry, "description", where, required=False))

    def prompt(self, entry: Any, where: str, number: int) -> Prompt:
        entry = self.table(entry, where)
        self.no_unknown(entry, _PROMPT_KEYS, where)
        prompt_id = self.identifier(entry, "id", where) if "id" in entry else f"prompt-{number}"
        text = self.string(entry, "text", where)
        hint = self.string(entry, "hint", where)
        raw_points = self.array(entry, "key_points", where)
        if not raw_points:
            raise self.fail(f"{where}.key_points", "must list at least one key point")
        points = []
        for index, raw in enumerate(raw_points):
            point_where = f"{where}.key_points[{index}]"
            raw = self.table(raw, point_where)
            self.no_unknown(raw, _KEY_POINT_KEYS, point_where)
            keywords = self.strings(raw, "keywords", point_where)
            if not keywords:
                raise self.fail(f"{point_where}.keywords",
                                "must list at least one keyword (used to mark the point as touched)")
            points.append(KeyPoint(text=self.string(raw, "text", point_where), keywords=keywords))
        return Prompt(id=prompt_id, text=text, key_points=tuple(points), hint=hint, number=number)

    def item(self, entry: Any, where: str) -> Item:
        entry = self.table(entry, where)
        item_id = self.identifier(entry, "id", where)
        kind = self.string(entry, "kind", where)
        if kind not in ITEM_KINDS:
            raise self.fail(f"{where}.kind", f"'{kind}' is not a kind of item",
                            "Use one of: " + ", ".join(ITEM_KINDS))
        self.no_unknown(entry, _ITEM_KEYS[kind], where)
        question = self.string(entry, "question", where)
        explanation = self.string(entry, "explanation", where)
        common = dict(id=item_id, kind=kind, question=question, explanation=explanation,
                      source=self.string(entry, "source", where, required=False),
                      misconception=self.string(entry, "misconception", where, required=False))
        if "answer" not in entry:
            raise self.fail(f"{where}.answer", "missing (required)")
        answer = entry["answer"]
        if kind == "choice":
            choices = self.strings(entry, "choices", where)
            if not 2 <= len(choices) <= MAX_CHOICES:
                raise self.fail(f"{where}.choices", f"must have 2 to {MAX_CHOICES} choices (found {len(choices)})")
            seen: dict[str, int] = {}
            for index, choice in enumerate(choices):
                folded = " ".join(choice.lower().split())
                if folded in seen:
                    raise self.fail(f"{where}.choices[{index}]",
                                    f"same text as choices[{seen[folded]}]: an item needs exactly one correct answer")
                if AMBIGUOUS_CHOICES.match(choice):
                    raise self.fail(f"{where}.choices[{index}]",
                                    f"'{choice}' makes more than one choice correct",
                                    "Write each choice as a statement that stands alone")
                seen[folded] = index
            return Item(**common, choices=choices, answer=self.choice_answer(answer, choices, where))
        if kind == "true_false":
            if not isinstance(answer, bool):
                raise self.fail(f"{where}.answer", f"must be true or false, not {answer!r}")
            return Item(**common, answer=answer)
        # numeric
        if not _is_number(answer):
            raise self.fail(f"{where}.answer", f"must be a number, not {answer!r}")
        tolerance = entry.get("tolerance", 0)
        if not _is_number(tolerance):
            raise self.fail(f"{where}.tolerance", f"must be a number, not {tolerance!r}")
        if tolerance < 0:
            raise self.fail(f"{where}.tolerance", f"must be ≥ 0, not {tolerance!r}")
        return Item(**common, answer=float(answer), tolerance=float(tolerance),
                    unit=self.string(entry, "unit", where, required=False))

    def choice_answer(self, answer: Any, choices: tuple[str, ...], where: str) -> int:
        name = f"{where}.answer"
        if isinstance(answer, list):
            raise self.fail(name, f"exactly one correct answer is allowed (found {len(answer)})",
                            "Give one letter, e.g. answer = \"b\"")
        if not isinstance(answer, str):
            raise self.fail(name, f"must be a letter (a–{LETTERS[len(choices) - 1]}) or the text of a "
                                  f"choice, not {answer!r}")
        wanted = answer.strip()
        if len(wanted) == 1 and wanted.lower() in LETTERS:
            index = LETTERS.index(wanted.lower())
            if index < len(choices):
                return index
        for index, choice in enumerate(choices):
            if " ".join(choice.split()) == " ".join(wanted.split()):
                return index
        raise self.fail(name, "must be one of the choices "
                              f"(a letter a–{LETTERS[len(choices) - 1]} or the exact text of a choice), "
                              f"not {answer!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and value not in (float("inf"), float("-inf"))


def _type_name(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)
