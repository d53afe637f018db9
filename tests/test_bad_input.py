"""No traceback on any input: every command × every option, fed a table of bad values.

The cases are generated from Typer's own model of the command line, so a new command, option or
argument is covered the day it is added; only a required argument needs a valid value in
``VALID_ARGUMENTS`` (the test says so when one is missing). Every case must end with one line
saying what is wrong (``error: ...``), a non-zero exit status, and no traceback.

Engine-free: DOCKER_HOST points at a closed port and LABCTL_RUNTIME=docker, so a command that would
start servers fails fast with "cannot reach the Docker engine" once its inputs were accepted.
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from labctl.cli import app
from labctl.results import store

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
UNREACHABLE_ENGINE = "tcp://127.0.0.1:9"   # discard port: nothing listens, the connect is refused
runner = CliRunner()

# A valid value for each required argument, by parameter name, so that the option under test is
# what goes wrong. "@result" is replaced by the id of a result saved for the test.
VALID_ARGUMENTS = {"server": "go", "lesson": "003", "result_id": "@result", "first": "@result",
                   "second": "@result", "name": "go-slow-clients"}


# Options naming a file labctl writes: a file that does not exist yet is fine there, so they get
# the bad values of an output (a new option that writes a file is added here).
OUTPUT_FILES = {"output", "svg", "html", "report_file"}
# Options naming a folder labctl creates: a missing one is fine, a file or an unwritable place is not.
OUTPUT_FOLDERS = {"directory"}
# Options that filter by any text (an unknown session is "nothing to remove", not an error): a
# bad value there must still never give a traceback, but exit 0 is a fair answer.
ANY_TEXT = {"session"}


def walk(command, path=()):
    """(command path, command) for every leaf command under ``command``."""
    children = getattr(command, "commands", None)
    if children:
        for name, child in sorted(children.items()):
            yield from walk(child, (*path, name))
    elif path:
        yield path, command


COMMANDS = list(walk(typer.main.get_command(app)))


class Files:
    """Paths the bad values refer to, made fresh in each test's directory."""

    def __init__(self, root: Path) -> None:
        self.missing = root / "no-such-file.toml"
        self.directory = root / "a-directory"
        self.directory.mkdir()
        self.garbage = root / "garbage.json"
        self.garbage.write_bytes(b"\xff\xfe\x00{[garbage\x00\x81")
        if IS_ROOT:
            self.unreadable = Path("/proc/self/mem")   # root reads anything, but this one fails (EIO)
        else:
            self.unreadable = root / "unreadable.toml"
            self.unreadable.write_text("x = 1")
            self.unreadable.chmod(0)


def bad_values(param) -> list[tuple[str, str]]:
    """(label, value) pairs that are wrong for ``param``; "@missing"-style values name files."""
    annotation = param.type_descriptor.annotation
    if getattr(param, "is_flag", False):
        return []
    values: list[tuple[str, str]] = []
    if annotation is int:
        values += [("not a number", "x"), ("a fraction", "1.5"), ("empty", ""),
                   ("huge", "9" * 30)]
        if param.min is not None:
            values.append(("below the minimum", str(int(param.min) - 1)))
        if param.max is not None:
            values.append(("above the maximum", str(int(param.max) + 1)))
    elif annotation is float:
        values += [("not a number", "x"), ("NaN", "nan"), ("infinity", "inf"),
                   ("minus infinity", "-inf"), ("empty", "")]
        if param.min is not None:
            values.append(("below the minimum", str(param.min - 1)))
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values += [("unknown name", "bogus"), ("empty", "")]
    elif annotation is Path and param.name in OUTPUT_FOLDERS:
        values += [("a file", "@garbage"), ("under a file", "@garbage/folder"),
                   ("unwritable place", "/proc/labctl-folder")]
    elif annotation is Path and param.name in OUTPUT_FILES:
        values += [("a directory", "@directory"), ("under a file", "@garbage/out.html"),
                   ("unwritable place", "/proc/labctl-out.html"), ("empty", "")]
    elif annotation is Path:
        values += [("missing file", "@missing"), ("a directory", "@directory"),
                   ("unreadable file", "@unreadable"), ("garbage file", "@garbage"), ("empty", "")]
    else:   # text: a server, a lesson, a result id, a duration, a path on the server...
        values += [("empty", ""), ("unknown name", "cobol"), ("bad duration", "10x"),
                   ("negative", "-1"), ("NaN", "nan"), ("very long", "x" * 5000),
                   ("path escape", "../../etc/passwd"), ("control characters", "a\r\nb\tc"),
                   ("unicode", "é∞\u202e")]
    return values


def command_line(path, command, result_id: str, *, replace: str | None = None,
                 value: str | None = None) -> list[str]:
    """The command's path and its required arguments (valid), with one parameter replaced."""
    args = list(path)
    for param in command.params:
        if param.param_type_name != "argument":
            continue
        if param.name == replace:
            args.append(value)
        elif param.required:
            if param.name not in VALID_ARGUMENTS:
                pytest.fail(f"labctl {' '.join(path)}: add a valid value for its required argument "
                            f"'{param.name}' to VALID_ARGUMENTS")
            args.append(VALID_ARGUMENTS[param.name].replace("@result", result_id))
    if replace is not None and not any(p.name == replace and p.param_type_name == "argument"
                                       for p in command.params):
        option = next(p for p in command.params if p.name == replace)
        args += [option.opts[0], value]
    return args


def cases():
    for path, command in COMMANDS:
        for param in command.params:
            for label, value in bad_values(param):
                yield pytest.param(path, param.name, value,
                                   id=f"{' '.join(path)} {param.opts[0]}: {label}")


@pytest.fixture
def engine_free(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE_ENGINE)
    monkeypatch.setenv("LABCTL_RUNTIME", "docker")
    monkeypatch.delenv("LABCTL_LESSONS_DIR", raising=False)
    monkeypatch.delenv("LABCTL_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    return Files(tmp_path)


def saved_result() -> str:
    """A result shaped as a real compare saves it."""
    from test_report import compare_document

    document = compare_document()
    document.pop("id", None)
    return store.save_result("compare", document)


def assert_one_line_error(result, what: str) -> None:
    output = (result.stdout or "") + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: raised {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in output, f"{what}: printed a traceback\n{output}"
    assert result.exit_code != 0, f"{what}: accepted (exit 0)\n{output}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"{what}: expected one 'error:' line\n{result.stderr}"


@pytest.mark.parametrize("path, name, value", list(cases()))
def test_a_bad_value_is_one_line_and_a_non_zero_exit(engine_free, path, name, value):
    files = engine_free
    for key in ("missing", "directory", "unreadable", "garbage"):
        value = value.replace(f"@{key}", str(getattr(files, key)))
    command = dict(COMMANDS)[path]
    args = command_line(path, command, saved_result(), replace=name, value=value)
    result = runner.invoke(app, args)
    check = assert_no_traceback if name in ANY_TEXT else assert_one_line_error
    check(result, f"labctl {' '.join(args)[:200]}")


def test_every_command_is_covered():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"run", "compare", "load", "quiz", "results show", "lessons check"} <= names
    assert sum(1 for _ in cases()) > 150


# --- garbage around the command line: the config file and LABCTL_* variables --------------------

GARBAGE_CONFIGS = {
    "not TOML": "runtime = [",
    "binary": b"\xff\xfe\x00\x81garbage",
    "a number for runtime": "runtime = 5",
    "an unknown runtime": 'runtime = "podman"',
    "images not a table": 'images = "x"',
    "an image not a string": "[images]\nGO_IMAGE = 5",
    "a directory": None,
}

GARBAGE_VARIABLES = {
    "LABCTL_RUNTIME": ["podman", "dockerr"],   # (empty means auto, which may really run)
    "LABCTL_NOW": ["yesterday", "2026-13-45T99:00:00"],
    "LABCTL_DEBUG": ["yes"],
    "LABCTL_DOCKER_PATH": ["sideways"],
    "LABCTL_LESSONS_DIR": ["@missing", "@garbage", "@directory"],
    "LABCTL_GO_IMAGE": [":::not an image:::"],
}


def minimal_line(path, command, result_id: str) -> list[str]:
    return command_line(path, command, result_id)


def assert_no_traceback(result, what: str) -> None:
    output = (result.stdout or "") + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: raised {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in output, f"{what}: printed a traceback\n{output}"
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"{what}: expected one 'error:' line\n{result.stderr}"


@pytest.mark.parametrize("garbage", list(GARBAGE_CONFIGS), ids=list(GARBAGE_CONFIGS))
def test_a_garbage_config_file_never_gives_a_traceback(engine_free, garbage):
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "labctl" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    content = GARBAGE_CONFIGS[garbage]
    if content is None:
        config.mkdir()
    elif isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    result_id = saved_result()
    for path, command in COMMANDS:
        args = minimal_line(path, command, result_id)
        assert_no_traceback(runner.invoke(app, args), f"labctl {' '.join(args)} ({garbage} config)")


@pytest.mark.parametrize("variable, value", [(k, v) for k, vs in GARBAGE_VARIABLES.items() for v in vs])
def test_garbage_labctl_variables_never_give_a_traceback(engine_free, monkeypatch, variable, value):
    files = engine_free
    for key in ("missing", "directory", "garbage"):
        value = value.replace(f"@{key}", str(getattr(files, key)))
    monkeypatch.setenv(variable, value)
    result_id = saved_result()
    for path, command in COMMANDS:
        args = minimal_line(path, command, result_id)
        assert_no_traceback(runner.invoke(app, args), f"{variable}={value!r} labctl {' '.join(args)}")


@pytest.mark.parametrize("width", ["abc", "-5", "0", "99999999999"])
def test_a_garbage_width_never_gives_a_traceback(width):
    # Read when labctl starts, so a fresh process.
    env = {**os.environ, "LABCTL_WIDTH": width}
    result = subprocess.run([sys.executable, "-m", "labctl", "lessons"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert "Traceback" not in result.stderr and result.returncode == 0, result.stderr


def test_a_saved_result_with_garbage_inside_is_one_line(engine_free):
    folder = store.results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cases = {"20260101-000000-compare-0001": {"schema": "labctl.compare/1", "servers": 5},
             "20260101-000000-load-0002": {"schema": "labctl.load/1", "load": "x", "server": 3},
             "20260101-000000-compare-0003": ["not", "a", "table"]}
    for result_id, document in cases.items():
        (folder / f"{result_id}.json").write_text(json.dumps(document))
    (folder / "20260101-000000-compare-0004.json").write_bytes(b"\xff{torn")
    for args in (["results"], ["results", "show", "0001"], ["results", "show", "0002"],
                 ["results", "show", "0003"], ["results", "show", "0004"],
                 ["results", "diff", "0001", "0002"], ["report", "0001"]):
        assert_no_traceback(runner.invoke(app, args), f"labctl {' '.join(args)}")
