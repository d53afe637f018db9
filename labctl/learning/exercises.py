"""Exercises as data: reading ``exercises/<name>/``, and making and finding a learner's workspace.

An exercise folder holds ``exercise.toml`` (what to do, and the behavioural check with its
thresholds), ``starter/`` (the files that differ from ``servers/<base>``: none when the shipped
server itself has the behaviour to fix), ``solution/`` (the files
of the reference fix that differ from ``servers/<base>``: none when the fix is exactly what the
shipped server does) and ``hints.md``. The format is described in
docs/exercises.md; running a check is exercise_checks.py's job.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from labctl import paths
from labctl.errors import LabctlError, UsageProblem
from labctl.learning import lesson_schema

EXERCISE_FILE = "exercise.toml"
HINTS_FILE = "hints.md"
HINT_SEPARATOR = "---"
# Written into a workspace by `exercise start`: which exercise the folder is, so `check`, `hint`
# and the others work from inside it without a name.
WORKSPACE_MARK = ".labctl-exercise.json"
DEFAULT_WORKSPACES = "labctl-exercises"
# Build products and caches a copy of a server folder must not carry along.
NOT_COPIED = ("node_modules", "target", "__pycache__", ".venv", WORKSPACE_MARK)

Text = Annotated[str, Meta(pattern=r"\S")]
Id = Annotated[str, Meta(pattern=lesson_schema.ID_PATTERN)]
UrlPath = Annotated[str, Meta(pattern=r"^/\S*$")]
Positive = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1, le=1000)]


class _Strict(Struct, forbid_unknown_fields=True, kw_only=True, tag_field="kind"):
    pass


class ThroughputCheck(_Strict, tag="throughput"):
    path: UrlPath
    min_rps: Positive
    connections: Annotated[int, Meta(ge=1, le=256)] = 10
    duration_s: Annotated[float, Meta(gt=0, le=30)] = 4.0
    max_errors: Annotated[int, Meta(ge=0)] = 0


class SpeedupCheck(_Strict, tag="speedup"):
    """The throughput check run twice, on the exercise's starter and on the copy checked: machine
    speed cancels out of the ratio, which a CPU-bound fix needs (its req/s differ tenfold from a
    laptop to a loaded CI runner)."""

    path: UrlPath
    min_speedup: Annotated[float, Meta(gt=1)]
    connections: Annotated[int, Meta(ge=1, le=256)] = 10
    duration_s: Annotated[float, Meta(gt=0, le=30)] = 4.0
    max_errors: Annotated[int, Meta(ge=0)] = 0


class LatencyCheck(_Strict, tag="latency"):
    path: UrlPath
    max_ms: Positive
    samples: Annotated[int, Meta(ge=3, le=200)] = 15


class ResponseCheck(_Strict, tag="response"):
    path: UrlPath
    method: Literal["GET", "HEAD"] = "GET"
    status: Annotated[int, Meta(ge=100, le=599)] = 200
    headers: list[Text] = []
    same_headers_as_get: bool = False
    empty_body: bool = False


class SlowClientsCheck(_Strict, tag="slow-clients"):
    cut_within_s: Positive
    connections: Annotated[int, Meta(ge=1, le=200)] = 10
    window_s: Annotated[float, Meta(gt=0, le=60)] = 10.0
    normal_max_ms: Positive = 1000.0


class ShutdownDrainCheck(_Strict, tag="shutdown-drain"):
    max_stop_s: Positive = 5.0


class ConnectionReuseCheck(_Strict, tag="connection-reuse"):
    path: UrlPath
    requests: Count = 100
    max_connections: Count = 2


ConfigFile = Annotated[str, Meta(pattern=r"^[\w.-]+$")]


class UpstreamConnectionsCheck(_Strict, tag="upstream-connections"):
    """nginx, configured by the workspace's ``config``, in front of the server."""

    config: ConfigFile = "nginx.conf"
    requests: Count = 1000
    max_per_1000: Annotated[float, Meta(ge=0)] = 10.0


class RollingRestartCheck(_Strict, tag="rolling-restart"):
    """Two instances behind nginx (the workspace's ``config``), each restarted in turn."""

    config: ConfigFile = "nginx.conf"
    max_failed: Annotated[int, Meta(ge=0)] = 0


class OverloadCheck(_Strict, tag="overload"):
    """At ``times_capacity`` × the server's own closed-loop capacity, open loop: goodput (2xx
    within the timeout) at least ``min_goodput`` of the capacity, p99 of the 2xx answers at most
    ``max_p99_ms``. With ``settle_s``, only the requests due from then on, and at least
    ``timeout_s`` before the end, are counted (labctl/labs/overload_settled.py)."""
    path: UrlPath = "/report"
    times_capacity: Annotated[float, Meta(gt=1, le=3)] = 2.0
    min_goodput: Annotated[float, Meta(gt=0, le=1)] = 0.5
    max_p99_ms: Positive = 500.0
    timeout_s: Annotated[float, Meta(gt=0, le=10)] = 1.0
    duration_s: Annotated[float, Meta(gt=0, le=30)] = 4.0
    capacity_s: Annotated[float, Meta(ge=2, le=30)] = 4.0
    settle_s: Annotated[float, Meta(ge=0, le=10)] = 0.0
    # On /report: the items per request the capacity is first measured at (the lab's 250 by
    # default; the bounds are labs/overload.py's MIN_ITEMS and MAX_ITEMS). A server whose
    # capacity there is outside the lab's band is still scaled and measured again; a start near
    # the band saves those rounds.
    items: Annotated[int, Meta(ge=10, le=10000)] = 250


CheckSpec = Union[ThroughputCheck, SpeedupCheck, LatencyCheck, ResponseCheck, SlowClientsCheck,
                  ShutdownDrainCheck, ConnectionReuseCheck, UpstreamConnectionsCheck,
                  RollingRestartCheck, OverloadCheck]
CHECK_KINDS = ("throughput", "speedup", "latency", "response", "slow-clients", "shutdown-drain",
               "connection-reuse", "upstream-connections", "rolling-restart", "overload")


class ExerciseSpec(Struct, forbid_unknown_fields=True, kw_only=True):
    format_version: Literal[1]
    title: Text
    lesson: Id
    base: Id
    files: Annotated[list[Text], Meta(min_length=1)]
    task: Text
    check: CheckSpec


@dataclass(frozen=True)
class Exercise:
    name: str
    folder: Path
    spec: ExerciseSpec
    hints: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def check(self) -> CheckSpec:
        return self.spec.check

    @property
    def base_dir(self) -> Path:
        return paths.servers_dir() / self.spec.base

    @property
    def starter_dir(self) -> Path:
        return self.folder / "starter"

    @property
    def solution_dir(self) -> Path:
        return self.folder / "solution"

    def changed_files(self) -> list[str]:
        """The files whose reference solution differs from the starter, relative to the workspace."""
        names = {*_relative_files(self.starter_dir), *_relative_files(self.solution_dir)}
        return sorted(n for n in names if starting_text(self, n) != solution_text(self, n))


# --- reading ------------------------------------------------------------------------------------

def exercises_dir() -> Path:
    """LABCTL_EXERCISES_DIR if set (authors, tests), else the exercises shipped with labctl."""
    configured = os.environ.get("LABCTL_EXERCISES_DIR")
    return Path(configured) if configured else paths.resource_root() / "exercises"


def display(path: Path) -> str:
    """A path as people should read it: relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fault(path: Path, where: str, what: str, hint: str | None = None) -> UsageProblem:
    return UsageProblem(f"{display(path)}: {where}: {what}",
                        hint or "See docs/exercises.md for the format")


def load(folder: Path) -> Exercise:
    """One exercise folder, validated; raises ``UsageProblem`` naming the file and field."""
    toml_path = folder / EXERCISE_FILE
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fault(folder, EXERCISE_FILE, "missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fault(toml_path, "file", f"cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fault(toml_path, "TOML", str(exc)) from None
    spec = _convert(toml_path, data)
    exercise = Exercise(name=folder.name, folder=folder, spec=spec, hints=_read_hints(folder))
    for rule in RULES:
        rule(exercise)
    return exercise


def _convert(toml_path: Path, data: dict[str, Any]) -> ExerciseSpec:
    check = data.get("check")
    if isinstance(check, dict) and "kind" not in check:
        raise _fault(toml_path, "check.kind", "missing (required)",
                     "Use one of: " + ", ".join(CHECK_KINDS))
    if isinstance(check, dict) and check.get("kind") not in CHECK_KINDS:
        raise _fault(toml_path, "check.kind", f"{check.get('kind')!r} is not a check kind",
                     "Use one of: " + ", ".join(CHECK_KINDS))
    if data.get("format_version", 1) != 1:
        raise _fault(toml_path, "format_version", f"{data.get('format_version')!r} is not supported",
                     "This labctl reads format_version = 1")
    try:
        return msgspec.convert(data, ExerciseSpec)
    except msgspec.ValidationError as exc:
        fault = lesson_schema.translate(str(exc), data)
        raise _fault(toml_path, fault.where, fault.problem, fault.hint) from None


def _read_hints(folder: Path) -> tuple[str, ...]:
    try:
        text = (folder / HINTS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    hints: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip() == HINT_SEPARATOR:
            hints.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    hints.append("\n".join(current).strip())
    return tuple(hint for hint in hints if hint)


def reflow(text: str) -> str:
    """Authors wrap task and hint text at 100 columns; join each paragraph's lines so the terminal
    wraps it at its own width. Lists, indented code and blank lines keep their line breaks."""
    out: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        starts_block = (not stripped or line.startswith(("    ", "\t", "- ", "* ", "```"))
                        or stripped[:3].rstrip(".").isdigit())
        if out and out[-1] and not starts_block and not out[-1].startswith(("    ", "```")):
            out[-1] += " " + stripped
        else:
            out.append(line.rstrip())
    return "\n".join(out)


# --- the rules a schema cannot say ----------------------------------------------------------------

def _base_is_shipped(exercise: Exercise) -> None:
    from labctl import servers

    names = [server.name for server in servers.shipped()]
    if exercise.spec.base not in names:
        raise _fault(exercise.folder / EXERCISE_FILE, "base",
                     f"'{exercise.spec.base}' is not one of the shipped servers",
                     "Use one of: " + ", ".join(names))


def _lesson_exists(exercise: Exercise) -> None:
    from labctl.learning.lessons import lessons_root

    if not (lessons_root() / f"{exercise.spec.lesson}.md").is_file():
        raise _fault(exercise.folder / EXERCISE_FILE, "lesson",
                     f"no lesson '{exercise.spec.lesson}' in lessons/",
                     "Give a lesson id, the name of its file without .md")


def _hints_present(exercise: Exercise) -> None:
    if not exercise.hints:
        raise _fault(exercise.folder, HINTS_FILE, "missing or empty",
                     "Write at least one hint; separate hints with a line holding only ---")


def _files_exist(exercise: Exercise) -> None:
    for index, name in enumerate(exercise.spec.files):
        if not ((exercise.starter_dir / name).is_file() or (exercise.base_dir / name).is_file()):
            raise _fault(exercise.folder / EXERCISE_FILE, f"files[{index}]",
                         f"'{name}' is in neither starter/ nor servers/{exercise.spec.base}/")


def _solution_changes_something(exercise: Exercise) -> None:
    if not exercise.changed_files():
        raise _fault(exercise.solution_dir, "folder", "the solution changes nothing in the starter",
                     f"solution/ holds the fix's files where they differ from servers/{exercise.spec.base}")


def _thresholds_consistent(exercise: Exercise) -> None:
    check = exercise.check
    if isinstance(check, OverloadCheck) and check.settle_s and (
            check.settle_s + check.timeout_s >= check.duration_s):
        raise _fault(exercise.folder / EXERCISE_FILE, "check.settle_s",
                     f"leaves nothing to count: the requests due from check.settle_s to "
                     f"check.timeout_s before the end of check.duration_s "
                     f"({check.duration_s:g} s) are judged")
    if isinstance(check, SlowClientsCheck) and check.cut_within_s >= check.window_s:
        raise _fault(exercise.folder / EXERCISE_FILE, "check.cut_within_s",
                     f"must be shorter than check.window_s ({check.window_s:g} s), "
                     "or no cut could be seen in time")


RULES = (_base_is_shipped, _lesson_exists, _hints_present, _files_exist,
         _solution_changes_something, _thresholds_consistent)


# An exercise changes a few lines of a shipped file. A starter further from it than this has most
# likely drifted: the shipped server changed and the starter, a copy, did not follow.
MAX_STARTER_CHANGES = 40


def starter_drift(exercise: Exercise) -> str | None:
    """Why a starter file has drifted from the shipped one (None: every one is close). An
    author's check, like ``listed_by_lesson``."""
    for name in _relative_files(exercise.starter_dir):
        shipped = exercise.base_dir / name
        if not shipped.is_file():
            continue
        diff = difflib.unified_diff(shipped.read_text(encoding="utf-8").splitlines(),
                                    (exercise.starter_dir / name).read_text(encoding="utf-8").splitlines(),
                                    lineterm="", n=0)
        changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
        if changed > MAX_STARTER_CHANGES:
            return (f"starter/{name} differs from servers/{exercise.spec.base}/{name} in {changed} "
                    f"lines (at most {MAX_STARTER_CHANGES}): copy the shipped file again and "
                    "make only the exercise's change")
    return None


def listed_by_lesson(exercise: Exercise) -> str | None:
    """Why the exercise's lesson does not name it in its [lab] exercises (None: it does). An
    author's check, not a load rule: the lesson and the exercise are edited separately."""
    from labctl.learning import lessons

    try:
        lesson = lessons.load_lesson(lessons.lessons_root() / f"{exercise.spec.lesson}.md")
    except LabctlError as error:
        return f"its lesson {exercise.spec.lesson} does not load ({error.message})"
    if lesson.lab is None or exercise.name not in lesson.lab.exercises:
        return (f"lesson {exercise.spec.lesson} does not name it: add \"{exercise.name}\" to "
                "exercises in the lesson's [lab]")
    return None


def load_all(directory: Path | None = None) -> tuple[list[Exercise], list[UsageProblem]]:
    """Every exercise, sorted by lesson then name, and the faults of those that did not load."""
    directory = directory or exercises_dir()
    found: list[Exercise] = []
    faults: list[UsageProblem] = []
    if not directory.is_dir():
        return found, faults
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            found.append(load(folder))
        except UsageProblem as fault:
            faults.append(fault)
    found.sort(key=lambda e: (e.spec.lesson, e.name))
    return found, faults


def find(name: str, directory: Path | None = None) -> Exercise:
    folder = (directory or exercises_dir()) / name
    if (folder / EXERCISE_FILE).is_file():
        return load(folder)
    names = [e.name for e in load_all(directory)[0]]
    close = difflib.get_close_matches(name, names, n=1)
    raise UsageProblem(f"no exercise named '{name}'",
                       f"Did you mean {close[0]}?" if close else
                       "See `labctl exercises` for the list")


# --- workspaces -----------------------------------------------------------------------------------

def _relative_files(root: Path) -> Iterator[str]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part in NOT_COPIED for part in relative.parts):
            yield relative.as_posix()


def _text_from(roots: tuple[Path, ...], name: str) -> str:
    for root in roots:
        if (root / name).is_file():
            return (root / name).read_text(encoding="utf-8")
    return ""


def starting_text(exercise: Exercise, name: str) -> str:
    """A file as the starter has it."""
    return _text_from((exercise.starter_dir, exercise.base_dir), name)


def solution_text(exercise: Exercise, name: str) -> str:
    """A file as the reference solution has it: solution/, else the shipped server's own (a file
    the starter adds and the base lacks stays the starter's)."""
    return _text_from((exercise.solution_dir, exercise.base_dir, exercise.starter_dir), name)


def _overlay(source: Path, dest: Path) -> None:
    for name in _relative_files(source):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)


def materialise(exercise: Exercise, dest: Path, *, solution: bool = False) -> Path:
    """Write the starter (or, with ``solution``, the reference solution) into ``dest``, which
    must not exist or be empty; mark it as this exercise's workspace."""
    dest.mkdir(parents=True, exist_ok=True)
    _overlay(exercise.base_dir, dest)
    _overlay(exercise.starter_dir, dest)
    if solution:
        for name in exercise.changed_files():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_text(solution_text(exercise, name), encoding="utf-8")
    mark = {"exercise": exercise.name, "base": exercise.spec.base, "format_version": 1}
    (dest / WORKSPACE_MARK).write_text(json.dumps(mark, indent=2) + "\n", encoding="utf-8")
    return dest


def scratch_copy(exercise: Exercise, side: str) -> Path:
    """A fresh copy of the starter or the solution for the authoring check, always at the same
    place in labctl's cache: the same path gives the same image tag, so checking again replaces
    the image instead of adding one, and reuses its build cache."""
    dest = paths.cache_dir() / "exercise-checks" / exercise.name / side
    if dest.exists():
        shutil.rmtree(dest)
    return materialise(exercise, dest, solution=side == "solution")


def restore_starter(exercise: Exercise, workspace: Path) -> list[str]:
    """Put the starter's version of every file the exercise touches back; returns their names.
    Files the learner added are left alone (they may be notes)."""
    restored = []
    for name in sorted({*_relative_files(exercise.starter_dir), *exercise.changed_files(),
                        *exercise.spec.files}):
        text = starting_text(exercise, name)
        target = workspace / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            restored.append(name)
    return restored


def workspace_of(start: Path) -> tuple[str, Path] | None:
    """The exercise whose workspace holds ``start`` (searching upwards), and that workspace."""
    for folder in (start.resolve(), *start.resolve().parents):
        mark = folder / WORKSPACE_MARK
        if mark.is_file():
            try:
                name = json.loads(mark.read_text(encoding="utf-8"))["exercise"]
            except (OSError, ValueError, KeyError, TypeError):
                return None
            return (name, folder) if isinstance(name, str) else None
    return None


def default_workspace(name: str) -> Path:
    return Path.cwd() / DEFAULT_WORKSPACES / name


def solution_diff(exercise: Exercise) -> str:
    """The reference solution as a unified diff against the starter."""
    chunks = []
    for name in exercise.changed_files():
        before = starting_text(exercise, name).splitlines(keepends=True)
        after = solution_text(exercise, name).splitlines(keepends=True)
        chunks.append("".join(difflib.unified_diff(before, after, f"starter/{name}",
                                                   f"solution/{name}")))
    return "".join(chunks)


def spoilers(names: tuple[str, ...] | list[str], progress: Any) -> dict[Path, str]:
    """The shipped server files that hold an exercise's answer (those its starter replaces with a
    version to fix), for the exercises not yet passed and whose last hint was not asked: path →
    exercise name. `labctl show --code` withholds them, so a lesson's code
    does not hand over the solution before the learner has tried."""
    withheld: dict[Path, str] = {}
    for name in names:
        try:
            exercise = find(name)
        except LabctlError:
            continue
        record = progress.exercise_record(name)
        hints_seen = int(record.get("hints_seen", 0) or 0)
        if progress.exercise_state(name) == "passed" or (exercise.hints and hints_seen >= len(exercise.hints)):
            continue
        for changed in exercise.changed_files():
            shipped = exercise.base_dir / changed
            # The shipped file holds the answer when the starter replaces it with a version to
            # fix; when the starter is the shipped file itself (python-head), it holds none.
            try:
                holds_answer = starting_text(exercise, changed) != shipped.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                holds_answer = False
            if holds_answer:
                withheld[shipped.resolve()] = name
    return withheld
