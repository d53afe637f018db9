"""Running a `labctl lab` command as a learner would, for the labs' end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from conftest import end_labctl


def run_lab(*args: str, timeout_s: float = 900) -> tuple[dict, float, int]:
    """(the --json document, seconds the command took, its pid): the pid is what the containers
    it started carry as ``labctl.pid``, so a test can look for its own leftovers only, on an
    engine other sessions share."""
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "labctl", "lab", *args, "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=os.environ.copy(), stdin=subprocess.DEVNULL)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    finally:
        end_labctl(process)
    assert process.returncode == 0, stderr
    return json.loads(stdout), time.monotonic() - began, process.pid


def own(containers: list, pid: int) -> list:
    """The containers among ``containers`` that the labctl process ``pid`` started."""
    return [c for c in containers if c.labels.get("labctl.pid") == str(pid)]
