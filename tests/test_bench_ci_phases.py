"""bench/ci_phases.py reads a scripts/test log: set-up steps, each phase, the total, the slowest."""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "ci_phases.py"

# What scripts/test and pytest print, cut down to the lines the bench reads and a few it must
# pass over (progress dots, xdist's worker lines, a colour code).
TWO_PHASES = """\
[test] Python: the project's virtual environment .venv (Python 3.11.2)
[test] set-up took 21 s: Python and install 14 s, ruff and mypy 5 s, host packages 0 s, engine and base images 2 s
[test] phase 1 of 2: the parallel tests (not docker and not local and not serial), 2 workers
============================= test session starts ==============================
created: 2/2 workers
2 workers [1477 items]
........................................................................ [  4%]
============================== time by test file ===============================
    60.0 s  30.0 %  tests/test_bad_input.py
    20.0 s  10.0 %  tests/test_contracts.py
   200.0 s  in 50 files
============================= slowest 15 durations =============================
9.50s call     tests/test_packaging.py::test_wheel_has_no_build_products
6.00s setup    tests/test_packaging.py::test_installed_labctl_has_the_lessons
\x1b[32m====================== 1477 passed, 396 deselected in 101.20s (0:01:41) ======================\x1b[0m
[test] phase 2 of 2: the serial tests (docker or local or serial), one at a time
============================= test session starts ==============================
============================== time by test file ===============================
   700.0 s  50.0 %  tests/test_exercises_engine.py
    30.0 s   2.1 %  tests/test_contracts.py
  1400.0 s  in 20 files
============================= slowest 15 durations =============================
130.12s call     tests/test_compare_integration.py::test_compare_all_four_servers_end_to_end
====================== 396 passed, 1477 deselected in 1402.00s (0:23:22) ======================
""" + ("[test] took 1530 s in all: set-up 21 s (Python and install 14 s, ruff and mypy 5 s, host "
       "packages 0 s, engine and base images 2 s), parallel tests 104 s, serial tests 1405 s\n")


@functools.cache
def _bench():
    spec = importlib.util.spec_from_file_location("ci_phases_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_both_phases_their_times_and_the_slowest_are_read():
    run = _bench().parse(TWO_PHASES.splitlines())
    assert run.setup_s == 21 and run.setup_steps[0] == ("Python and install", 14)
    assert len(run.setup_steps) == 4
    parallel, serial = run.phases
    assert (parallel.name, parallel.wall_s, parallel.pytest_s) == ("parallel tests", 104, 101.2)
    assert parallel.outcome == "1477 passed, 396 deselected" and parallel.test_s == 200.0
    assert (serial.name, serial.wall_s) == ("serial tests", 1405)
    assert run.total_s == 1530 and run.failed_exit is None
    shown = _bench().report(run, top=3)
    assert "parallel tests                  104 s   1477 passed, 396 deselected; 200 s of test " \
           "time (1.9× the wall time)" in shown
    # A file in both phases is added up; the slowest tests come from both phases, slowest first.
    files = shown.split("costliest files")[1].split("slowest tests")[0].splitlines()[1:4]
    assert [line.split()[-1] for line in files] == ["tests/test_exercises_engine.py",
                                                   "tests/test_bad_input.py", "tests/test_contracts.py"]
    assert "50.0 s  tests/test_contracts.py" in shown
    slowest = shown.split("slowest tests")[1].splitlines()[1:]
    assert slowest[0].endswith("test_compare_all_four_servers_end_to_end (call)")
    assert slowest[2].endswith("test_installed_labctl_has_the_lessons (setup)")
    assert "total                          1530 s" in shown


def test_a_failed_first_phase_is_said_and_the_total_is_still_read():
    log = TWO_PHASES.split("[test] phase 2 of 2")[0].replace(
        "1477 passed, 396 deselected", "1 failed, 1476 passed, 396 deselected")
    log += ("[test] phase 1 failed (exit 1): the serial tests were not run\n"
            "[test] took 126 s in all: set-up 21 s (Python and install 14 s), parallel tests 104 s\n")
    run = _bench().parse(log.splitlines())
    assert [phase.name for phase in run.phases] == ["parallel tests"]
    assert run.failed_exit == 1 and run.total_s == 126
    shown = _bench().report(run, top=10)
    assert "1 failed, 1476 passed" in shown and "a phase failed with exit 1" in shown


def test_a_log_from_before_the_phases_is_one_phase_and_its_total_is_added_up():
    log = ("[test] set-up took 20 s: Python and install 14 s, ruff and mypy 4 s\n"
           "platform linux -- Python 3.11.2, pytest-9.2.0, pluggy-1.7.0\n"
           "====================== 1874 passed in 2149.59s (0:35:49) ======================\n")
    run = _bench().parse(log.splitlines())
    assert [(phase.name, phase.pytest_s) for phase in run.phases] == [("tests", 2149.59)]
    assert "2170 s   (set-up and phases added up" in _bench().report(run, top=10)


def test_the_command_reads_standard_input_and_refuses_a_log_without_tests():
    shown = subprocess.run([sys.executable, str(BENCH)], input=TWO_PHASES, capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0 and "serial tests" in shown.stdout, shown.stderr
    empty = subprocess.run([sys.executable, str(BENCH)], input="hello\n", capture_output=True,
                           text=True, timeout=60)
    assert empty.returncode == 2 and empty.stderr.startswith("error: ")


def test_the_lines_it_reads_are_the_ones_scripts_test_prints():
    """scripts/test's own messages (its `say` lines, with sample values for the shell's), so a
    reworded message cannot leave the bench reading nothing."""
    bench = _bench()
    values = {"$setup_seconds": "21", "$setup_steps": "Python and install 14 s",
              "$PARALLEL_TESTS": "not serial", "$SERIAL_TESTS": "serial", "$status": "1",
              "$SECONDS": "130"}
    printed = []
    for said in re.findall(r'^\s*say "(.*)"$', (REPO / "scripts" / "test").read_text(), re.M):
        said = re.sub(r"\$\(.*\)", "parallel tests 104 s", said)   # the phases' times, joined
        for name, value in values.items():
            said = said.replace(name, value)
        printed.append("[test] " + said)
    assert [bench.SETUP.match(line) is not None for line in printed].count(True) == 1
    assert [bench.PHASE.match(line).group(1) for line in printed if bench.PHASE.match(line)] == \
        ["parallel tests", "serial tests"]
    assert any(bench.PHASE_FAILED.match(line) for line in printed)
    assert any(bench.TOTAL.match(line) for line in printed)
