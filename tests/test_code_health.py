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


# What `labctl --help` may run of labctl: the command modules and the little they import at the
# top (labctl.learning is the package alone, for its pass mark; labctl.lazy registers lessons,
# quiz and menu modules without running them). Lessons, quiz, runtimes, measuring and rendering
# load inside the commands that use them.
LABCTL_FOR_HELP = {"labctl", "labctl.cli", "labctl.commands", "labctl.config", "labctl.errors",
                   "labctl.lazy", "labctl.learning", "labctl.ui"}
# Help is Click's plain text: no Rich at all (typer.rich_utils would bring Markdown parsing too).
NOT_FOR_HELP = ("rich", "typer.rich_utils", "markdown_it", "pygments", "httpx", "docker", "pycurl",
                "fsrs", "msgspec", "filelock", "platformdirs", "watchfiles", "plotly")

_RUN_HELP = """
import contextlib, io
from labctl.cli import main
sys.argv = ["labctl", "--help"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main()
# labctl.lazy's modules that nothing used are registered, not run
for name in [n for n, module in sys.modules.items() if type(module).__name__ == "_LazyModule"]:
    del sys.modules[name]
"""


def test_help_runs_no_lesson_quiz_runtime_nor_rich_code():
    loaded = _modules_after(_RUN_HELP)
    labctl = {name for name in loaded if name.split(".")[0] == "labctl"
              and not name.startswith("labctl.commands.")}
    assert labctl <= LABCTL_FOR_HELP, sorted(labctl - LABCTL_FOR_HELP)
    heavy = sorted(name for name in loaded
                   if any(name == package or name.startswith(package + ".") for package in NOT_FOR_HELP))
    assert heavy == []


def test_help_costs_well_under_half_a_second_of_cpu():
    """The goal is 0.1 s wall-clock (bench/startup.py measures it); this bound only catches a gross
    regression, in CPU time (waiting for a core on a busy machine does not count)."""
    import resource
    import statistics
    import subprocess
    import sys

    def cpu_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    spent = []
    for _ in range(3):
        before = cpu_seconds()
        subprocess.run([sys.executable, "-m", "labctl", "--help"], capture_output=True, check=True)
        spent.append(cpu_seconds() - before)
    assert statistics.median(spent) < 0.5, spent


def test_command_signatures_hold_no_string_annotations():
    """Typer reads every command's signature to print even `labctl --help`, and evaluates each
    string annotation four times: command modules do without `from __future__ import
    annotations` (labctl/commands/__init__.py)."""
    import typer

    from labctl.cli import app

    def callbacks(typer_app: typer.Typer):
        if typer_app.registered_callback is not None:
            yield typer_app.registered_callback.callback
        for command in typer_app.registered_commands:
            yield command.callback
        for group in typer_app.registered_groups:
            if group.typer_instance is not None:
                yield from callbacks(group.typer_instance)

    strings = [f"{function.__module__}.{function.__name__}: {name}"
               for function in callbacks(app) if function is not None
               for name, annotation in function.__annotations__.items() if isinstance(annotation, str)]
    assert strings == []


def test_results_show_needs_no_command_module():
    """Every renderer lives in render.py: `results show` imports no other command module (the
    shared options and the group class are not commands)."""
    import ast
    from pathlib import Path

    import labctl.commands.results_cmd as results_cmd

    tree = ast.parse(Path(results_cmd.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    commands = {m for m in imported if m and m.startswith("labctl.commands.")}
    assert commands <= {"labctl.commands.options", "labctl.commands.group"}, commands
