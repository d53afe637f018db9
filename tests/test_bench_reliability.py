"""bench/reliability.py says when a row could not run, and why, instead of "0 cases, FAIL"."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "reliability.py"


def _bench():
    spec = importlib.util.spec_from_file_location("reliability_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bad_input_row_without_pytest_says_it_could_not_run_and_why(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    bench = _bench()
    bench.bad_inputs(python=str(bare / "bin" / "python"))
    (what, result, detail, verdict), = bench.rows
    assert verdict == bench.NOT_RUN
    assert result == "could not run"
    assert detail.startswith("pytest is not installed for ")
    assert "ModuleNotFoundError" in detail and "\n" not in detail


def test_a_module_that_imports_is_not_missing():
    assert _bench().missing_module(sys.executable, "json") is None
