"""scripts/test's two phases (parallel, then serial) run every test exactly once.

The phases select by marker expression; the expressions are read from scripts/test itself, and
each is collected by pytest (as the phase would collect) and compared with the whole collection.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "test"


def expression(name: str) -> str:
    found = re.search(rf'^{name}="([^"]+)"$', SCRIPT.read_text(encoding="utf-8"), re.M)
    assert found, f"scripts/test no longer sets {name}"
    return found.group(1)


def collected(*selection: str) -> list[str]:
    """The test ids pytest collects with ``selection``, in order (one entry per test run)."""
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *selection],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_every_test_runs_in_exactly_one_phase():
    everything = collected()
    parallel = collected("-m", expression("PARALLEL_TESTS"))
    serial = collected("-m", expression("SERIAL_TESTS"))
    assert len(set(everything)) == len(everything)   # one id, one test: an id in both phases runs twice
    assert parallel and serial
    assert not set(parallel) & set(serial), "run twice: in both phases"
    assert sorted(parallel + serial) == sorted(everything), \
        f"left out: {sorted(set(everything) - set(parallel) - set(serial))[:20]}"


def test_the_measuring_tests_are_in_the_serial_phase():
    """One test of each kind that must never run beside another (a terminal session, libcurl
    timing a server, load sent, a measured document, a Docker test) is in the serial phase: the
    two expressions could partition the tests and still put these in the parallel one."""
    serial = set(collected("-m", expression("SERIAL_TESTS"), "tests/test_signals.py",
                           "tests/test_probe.py", "tests/test_loadgen_parsing.py",
                           "tests/test_contracts.py"))
    for test in ("tests/test_signals.py::test_ctrl_c_at_a_quiz_prompt_stops_labctl_with_130",
                 "tests/test_probe.py::test_measure_takes_turns_in_blocks",
                 "tests/test_loadgen_parsing.py::test_builtin_open_loop_keeps_its_rate",
                 "tests/test_contracts.py::test_compare_document",
                 "tests/test_signals.py::test_the_engine_signal_tests_pass_when_the_runner_ignores_sigint"):
        assert test in serial, test
