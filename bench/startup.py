#!/usr/bin/env python3
"""How long labctl takes to start: `--help`, `lessons` and `servers` against `python -c pass`.

Every command and every shell completion pays labctl's start-up before doing anything, so it is
worth keeping small (issue 13's goal: `labctl --help` in 0.3 s or less). Each command runs
``--runs`` times as a fresh ``python -m labctl`` process with stdout and stderr discarded; the
median wall-clock time is printed, and the same for a bare interpreter, so the difference is
labctl's own cost. `servers` asks the Docker engine about images when one answers, so its figure
includes that round trip. Needs no engine; sends no traffic. Usage:

    python bench/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "labctl --help": [sys.executable, "-m", "labctl", "--help"],
    "labctl lessons": [sys.executable, "-m", "labctl", "lessons"],
    "labctl servers": [sys.executable, "-m", "labctl", "servers"],
}
GOAL_S = 0.3


def wall_seconds(argv: list[str]) -> float:
    env = {**os.environ, "NO_COLOR": "1"}
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per command (median shown)")
    args = parser.parse_args()
    wall_seconds(COMMANDS["labctl --help"])     # bytecode compiled, files in the page cache
    print(f"start-up, median of {args.runs} runs, on {os.cpu_count()} CPU(s), {sys.version.split()[0]}")
    medians = {}
    for label, argv in COMMANDS.items():
        times = sorted(wall_seconds(argv) for _ in range(args.runs))
        medians[label] = statistics.median(times)
        print(f"  {label:<16} {medians[label]:6.3f} s   (min {times[0]:.3f}, max {times[-1]:.3f})")
    help_s = medians["labctl --help"]
    print(f"labctl --help: {help_s - medians['python -c pass']:.3f} s above a bare interpreter; "
          f"goal ≤ {GOAL_S} s in all: {'met' if help_s <= GOAL_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
