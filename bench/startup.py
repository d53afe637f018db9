#!/usr/bin/env python3
"""How long labctl takes to start: `--help`, `lessons` and `servers` against `python -c pass`.

Every command and every shell completion pays labctl's start-up before doing anything, so it is
worth keeping small (the goal: `labctl --help` in 0.1 s or less). Each command runs
``--runs`` times as a fresh ``python -m labctl`` process with stdout and stderr discarded; the
median wall-clock time is printed, and the same for a bare interpreter, so the difference is
labctl's own cost. The median CPU time (user + system) of the process is printed too: on a busy
machine the wall-clock time includes waiting for a core, the CPU time does not. `servers`
asks the Docker engine about images when one answers, so its figure
includes that round trip. Needs no engine; sends no traffic. Usage:

    python bench/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import resource
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
GOAL_S = 0.1


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], *, write_bytecode: bool = False) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) of one run of ``argv``."""
    env = {**os.environ, "NO_COLOR": "1"}
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu_before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, _children_cpu() - cpu_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per command (median shown)")
    args = parser.parse_args()
    # One run of each first: files in the page cache, and labctl's bytecode written, as an
    # installed labctl has it (pip compiles it). Where PYTHONDONTWRITEBYTECODE is set, no run
    # would write it and every run would compile labctl's modules again (15-20 ms for --help).
    for argv in COMMANDS.values():
        timed(argv, write_bytecode=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"start-up, median of {args.runs} runs, on {os.cpu_count()} CPU(s), Python "
          f"{sys.version.split()[0]}, load average {load:.1f}")
    print(f"  {'':<16} {'wall':>7}   {'CPU':>7}   (wall min – max)")
    wall, cpu = {}, {}
    for label, argv in COMMANDS.items():
        runs = [timed(argv) for _ in range(args.runs)]
        walls = sorted(w for w, _ in runs)
        wall[label] = statistics.median(walls)
        cpu[label] = statistics.median(c for _, c in runs)
        print(f"  {label:<16} {wall[label]:6.3f} s  {cpu[label]:6.3f} s   "
              f"({walls[0]:.3f} – {walls[-1]:.3f})")
    help_s = wall["labctl --help"]
    print(f"labctl --help: {help_s - wall['python -c pass']:.3f} s wall, "
          f"{cpu['labctl --help'] - cpu['python -c pass']:.3f} s CPU above a bare interpreter; "
          f"goal ≤ {GOAL_S} s wall: {'met' if help_s <= GOAL_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
