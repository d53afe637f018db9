"""The oldest Python labctl declares (pyproject's requires-python) is one its code runs on.

Two checks: the README states the same floor as pyproject, and labctl's modules, read by an
interpreter of exactly that version, compile and find every standard-library module and name they
import (tomllib, for one, exists only from 3.11). Third-party packages declare their own floors,
which pip enforces; they are not checked here.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "labctl"


def declared_floor() -> tuple[int, int]:
    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", spec)
    assert match, f"requires-python {spec!r} is not a plain '>=X.Y' floor"
    return int(match.group(1)), int(match.group(2))


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def stdlib_imports() -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every standard-library import in labctl."""
    found: dict[str, set[str]] = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, set())
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {a.name for a in node.names if a.name != "*"}
                found.setdefault(node.module, set()).update(names)
    return sorted((module, sorted(names)) for module, names in found.items()
                  if module.split(".")[0] in sys.stdlib_module_names
                  and module != "__future__")


def interpreter(version: tuple[int, int]) -> str | None:
    """A Python of exactly ``version`` on this machine (PATH, then pyenv's versions)."""
    name = f"python{version[0]}.{version[1]}"
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(name), f"/usr/bin/{name}", f"/usr/local/bin/{name}",
                  *sorted(glob.glob(f"{root}/versions/{version[0]}.{version[1]}.*/bin/{name}"))]
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            said = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if said == str(version):
            return candidate
    return None


def test_the_readme_states_the_declared_floor():
    major, minor = declared_floor()
    readme = (REPO / "README.md").read_text()
    stated = set(re.findall(r"Python ≥ (\d+\.\d+)", readme))
    assert stated == {f"{major}.{minor}"}, f"README says Python ≥ {stated}, pyproject >={major}.{minor}"


def test_the_syntax_is_no_newer_than_the_floor():
    floor = declared_floor()
    for path in sources():
        ast.parse(path.read_text(), str(path), feature_version=floor)


# Run by the floor's interpreter: compile each file, import each standard-library module and
# look up each name imported from it. Prints one JSON list of what is missing.
CHECK = r"""
import importlib, json, sys
sources, imports = json.loads(sys.stdin.read())
missing = []
for path in sources:
    try:
        compile(open(path, encoding="utf-8").read(), path, "exec")
    except SyntaxError as exc:
        missing.append(f"{path}:{exc.lineno}: {exc.msg}")
for module, names in imports:
    try:
        imported = importlib.import_module(module)
    except ImportError:
        missing.append(f"module {module}")
        continue
    for name in names:
        if hasattr(imported, name):
            continue
        if hasattr(imported, "__path__") and importlib.util.find_spec(f"{module}.{name}"):
            continue   # a submodule (from xml import dom)
        missing.append(f"{module}.{name}")
print(json.dumps(missing))
"""


def test_the_floor_interpreter_has_everything_labctl_imports():
    floor = declared_floor()
    python = interpreter(floor)
    if python is None:
        pytest.skip(f"no Python {floor[0]}.{floor[1]} on this machine to check the declared floor")
    request = json.dumps([[str(p) for p in sources()], stdlib_imports()])
    result = subprocess.run([python, "-I", "-c", "import importlib.util\n" + CHECK],
                            input=request, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    missing = json.loads(result.stdout)
    assert missing == [], (f"labctl declares Python >= {floor[0]}.{floor[1]}, but that Python "
                           f"lacks: {', '.join(missing)}")
