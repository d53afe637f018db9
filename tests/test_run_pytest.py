"""scripts/run-pytest.sh: a SIGTERM sent to the test command reaches pytest, which stops as it
does on Ctrl-C (tear-downs run); Ctrl-C and an inherited ignored SIGINT keep working; pytest's
exit status comes back.

Each test runs the real function in a real bash (the way scripts/test sources it) on a small
test file written for it, with this interpreter's pytest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SCRIPT = TESTS.parent / "scripts" / "run-pytest.sh"

# The inner run's conftest: the suite's own SIGTERM handling, as tests/conftest.py installs it.
INNER_CONFTEST = f'''
import sys
sys.path.insert(0, {str(TESTS)!r})
import stop_on_sigterm

def pytest_configure(config):
    stop_on_sigterm.install()
'''

# A test that says it started, then waits; its fixture notes its tear-down.
SLOW_TEST = '''
import os, time, pytest

@pytest.fixture
def noted():
    yield
    with open(os.environ["TORN_DOWN"], "w") as marker:
        marker.write("torn down")

def test_waits(noted):
    with open(os.environ["STARTED"], "w") as marker:
        marker.write(str(os.getpid()))
    time.sleep(60)
'''


def _bash(tmp_path: Path, test_text: str, **popen) -> tuple[subprocess.Popen, dict[str, Path]]:
    (tmp_path / "test_inner.py").write_text(test_text)
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    markers = {"STARTED": tmp_path / "started", "TORN_DOWN": tmp_path / "torn-down"}
    script = (f'source "{SCRIPT}"; status=0; '
              f'run_pytest "{sys.executable}" -q -p no:cacheprovider -p no:randomly '
              f'"{tmp_path / "test_inner.py"}" || status=$?; echo "status $status"; '
              'exit "$status"')
    env = {**os.environ, **{name: str(path) for name, path in markers.items()}}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    process = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, **popen)
    return process, markers


def _wait_for(path: Path, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_exit_status_of_pytest_comes_back(tmp_path):
    process, _ = _bash(tmp_path, "def test_fails():\n    assert False\n")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert "status 1" in output and "1 failed" in output

    process, _ = _bash(tmp_path, "def test_passes():\n    pass\n")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and "status 0" in output, output


def test_sigterm_to_the_shell_stops_pytest_with_its_tear_downs(tmp_path):
    process, markers = _bash(tmp_path, SLOW_TEST)
    try:
        _wait_for(markers["STARTED"], process)
        pytest_pid = int(markers["STARTED"].read_text())
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)   # to bash alone, as a runner's timeout would
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - began < 20, output
    assert markers["TORN_DOWN"].read_text() == "torn down", output
    assert "KeyboardInterrupt" in output, output   # pytest's own summary of an interrupted run
    assert process.returncode == 2 and "status 2" in output, output   # pytest: interrupted
    assert _gone(pytest_pid)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_reaches_pytest_and_the_shell_waits_for_it(tmp_path):
    # A terminal's Ctrl-C goes to its whole foreground process group: bash and pytest.
    process, markers = _bash(tmp_path, SLOW_TEST, start_new_session=True,
                             preexec_fn=_sigint_default)
    try:
        _wait_for(markers["STARTED"], process)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert markers["TORN_DOWN"].read_text() == "torn down", output
    assert process.returncode == 2 and "status 2" in output, output


def test_an_ignored_sigint_stays_ignored_in_pytest(tmp_path):
    # Started from a background job: SIGINT ignored, and pytest must not get it back.
    text = ("import signal\n\ndef test_sigint_is_ignored():\n"
            "    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN\n")

    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process, _ = _bash(tmp_path, text, preexec_fn=ignore)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output

    text = text.replace("SIG_IGN", "default_int_handler").replace("is_ignored", "is_python_s")
    process, _ = _bash(tmp_path, text, preexec_fn=_sigint_default)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output


@pytest.mark.parametrize("ignored", [False, True])
def test_the_callers_traps_are_left_as_they_were(tmp_path, ignored):
    script = (f'source "{SCRIPT}"; run_pytest "{sys.executable}" --version >/dev/null 2>&1; '
              'echo "INT[$(trap -p INT)] TERM[$(trap -p TERM)]"')
    process = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                             preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
                             if ignored else _sigint_default)
    expected_int = "trap -- '' SIGINT" if ignored else ""
    assert process.stdout.strip() == f"INT[{expected_int}] TERM[]", process.stdout
