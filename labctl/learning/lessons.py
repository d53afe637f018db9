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
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labctl import paths
from labctl.errors import EnvironmentProblem, LabctlError
from labctl.learning import answer_units as units
from labctl.learning import lesson_schema as schema

FORMAT_VERSION = 1
ITEM_KINDS = tuple(schema.ITEM_KINDS)
LETTERS = schema.LETTERS
AMBIGUOUS_CHOICES = schema.AMBIGUOUS_CHOICES


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
    source: str = ""                 # where the fact can be checked: a doc, an RFC section, a command
    misconception: str = ""          # the wrong belief the item tests, if it tests one
    hint: str = ""                   # shown at the first "?" in the quiz
    skill: str = "recall"            # recall | predict | explain | apply
    transfer: bool = False           # asks about a case the lesson never showed

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
    exercises: tuple[str, ...] = ()   # names of exercises/ folders


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
    versions: tuple[tuple[str, str], ...] = ()   # (component, version), as the front matter lists them

    @property
    def number(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def slug(self) -> str:
        return self.id.split("-", 1)[1] if "-" in self.id else self.id

    def versions_line(self) -> str:
        """"Go 1.26 · uvicorn 0.54 · Node 22": what the lesson's facts hold for, in one line."""
        return " · ".join(f"{version_label(name)} {version}" for name, version in self.versions)

    def questions(self) -> tuple[Prompt | Item, ...]:
        """Everything the quiz asks, in order: the three prompts, then the auto-graded items."""
        return (*self.prompts, *self.items)

    def question(self, question_id: str) -> Prompt | Item | None:
        for question in self.questions():
            if question.id == question_id:
                return question
        return None


# How a component of the `versions` table is written in prose; others print as they are.
VERSION_LABELS = {"go": "Go", "python": "Python", "fastapi": "FastAPI", "starlette": "Starlette",
                  "uvicorn": "uvicorn", "h11": "h11", "httptools": "httptools", "rust": "Rust",
                  "axum": "axum", "hyper": "hyper", "tokio": "Tokio", "node": "Node",
                  "express": "Express", "nginx": "nginx"}


def version_label(name: str) -> str:
    return VERSION_LABELS.get(name, name)


def _hash(*parts: str) -> str:
    normalised = "\x1f".join(" ".join(part.split()) for part in parts)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def format_number(value: float, unit: str = "") -> str:
    return units.format_quantity(value, unit)


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
    try:
        spec = schema.parse(data, body, path.stem)
    except schema.Fault as fault:
        raise LessonError(shown, fault.where, fault.problem, fault.hint) from None
    return _build(spec, body, path, shown)


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


# --- from the validated front matter to the model ------------------------------------------------

def _build(spec: schema.LessonSpec, body: str, path: Path, shown: str) -> Lesson:
    prompts = tuple(
        Prompt(id=prompt.id or f"prompt-{number}", text=prompt.text.strip(), hint=prompt.hint.strip(),
               number=number,
               key_points=tuple(KeyPoint(text=point.text.strip(),
                                         keywords=tuple(k.strip() for k in point.keywords))
                                for point in prompt.key_points))
        for number, prompt in enumerate(spec.prompts, 1))
    demo = Demo(intro=spec.demo.intro.strip(), servers=tuple(s.strip() for s in spec.demo.servers),
                files=tuple(f.strip() for f in spec.demo.files),
                snippets=tuple(Snippet(title=s.title.strip(), language=s.language.strip(),
                                       code=s.code.strip("\n")) for s in spec.demo.snippets))
    lab = Lab(commands=tuple(tuple(argv) for argv in spec.lab.commands),
              description=spec.lab.description.strip(),
              exercises=tuple(spec.lab.exercises)) if spec.lab else None
    return Lesson(id=spec.id, title=spec.title.strip(), order=spec.order, summary=spec.summary.strip(),
                  body=body.strip("\n"),
                  try_it=tuple(TryIt(t.command.strip(), t.what_to_notice.strip()) for t in spec.try_it),
                  demo=demo, lab=lab, prompts=prompts, items=tuple(_item(i) for i in spec.items),
                  path=path, display_path=shown,
                  versions=tuple((name, version.strip()) for name, version in spec.versions.items()))


def _item(spec: schema.ItemSpec) -> Item:
    common: dict[str, Any] = dict(id=spec.id, question=spec.question.strip(), explanation=spec.explanation.strip(),
                  hint=spec.hint.strip(), skill=spec.skill, transfer=spec.transfer, source=spec.source.strip(),
                  misconception=spec.misconception.strip())
    if isinstance(spec, schema.ChoiceSpec):
        choices = tuple(choice.strip() for choice in spec.choices)
        return Item(kind="choice", choices=choices, answer=schema.choice_index(spec.answer, choices),
                    **common)
    if isinstance(spec, schema.TrueFalseSpec):
        return Item(kind="true_false", answer=spec.answer, **common)
    return Item(kind="numeric", answer=float(spec.answer), tolerance=float(spec.tolerance),
                unit=spec.unit.strip(), **common)
