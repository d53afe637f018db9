"""SIGTERM ends a pytest run the way Ctrl-C does (tests/conftest.py installs it at start-up).

A CI runner's timeout or a `kill` sends SIGTERM, which scripts/run-pytest.sh passes on to
pytest. Python's default would end the process on the spot: no fixture tear-down, so the servers
and containers a test started stay behind. As a KeyboardInterrupt, pytest stops, tears down,
removes what it started and prints its summary (exit status 2, "interrupted").
"""

from __future__ import annotations

import signal


def _stop_as_ctrl_c(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install() -> None:
    """Only over the default: a SIGTERM that the run was started ignoring stays ignored."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
