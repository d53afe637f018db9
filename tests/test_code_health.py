"""The code's own rules, checked without an engine: shared options, usage errors, start-up."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.commands.options import GeneratorChoice, RuntimeChoice
from labctl.errors import EXIT_USAGE, UsageProblem

runner = CliRunner()


def test_the_option_choices_are_the_domain_choices():
    from labctl import runtime
    from labctl.measure import loadgen

    assert [c.value for c in RuntimeChoice] == list(runtime.CHOICES)
    assert [c.value for c in GeneratorChoice] == list(loadgen.GENERATORS)


@pytest.mark.parametrize("args, message", [
    (["load", "go", "--generator", "ab"], "unknown generator 'ab'. Use one of: auto, container"),
    (["servers", "--runtime", "podman"], "unknown runtime 'podman'. Use one of: auto, docker"),
    (["compare", "--json", "--csv"], "--json and --csv both ask for stdout"),
])
def test_a_bad_command_line_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_USAGE == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_help_shows_the_choices():
    assert "[auto|docker|local]" in runner.invoke(app, ["servers", "--help"]).stdout
    assert "[auto|container|host|buil" in runner.invoke(app, ["load", "--help"]).stdout


def test_choices_ignore_case():
    from labctl.commands.options import _choice_parser

    assert _choice_parser(RuntimeChoice, "runtime")("Local") is RuntimeChoice.local


def test_usage_problem_exits_2():
    assert UsageProblem("x").exit_code == 2


# -- start-up -------------------------------------------------------------------------------

HEAVY_AT_START = ("httpx", "docker", "pycurl", "rich.progress", "rich.table", "markdown_it", "pygments",
                  "fsrs", "msgspec", "filelock", "labctl.learning.lesson_schema",
                  "labctl.compare", "labctl.measure.loadgen", "labctl.runtime.docker", "labctl.runtime.local")


def _modules_after(code: str) -> set[str]:
    import json
    import subprocess
    import sys

    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_no_engine_client_nor_measuring_code():
    """Every command, `--help` and shell completion pay for what `labctl.cli` imports: the
    engine client, libcurl, httpx and the measuring chain load inside the commands using them."""
    loaded = _modules_after("import labctl.cli")
    assert not loaded & set(HEAVY_AT_START), sorted(loaded & set(HEAVY_AT_START))


def test_results_show_needs_no_command_module():
    """Every renderer lives in render.py: `results show` imports no other command module."""
    import ast
    from pathlib import Path

    import labctl.commands.results_cmd as results_cmd

    tree = ast.parse(Path(results_cmd.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    commands = {m for m in imported if m and m.startswith("labctl.commands.")}
    assert commands <= {"labctl.commands.options"}, commands
