#!/usr/bin/env python3
"""Where a warm `labctl compare` spends its time: wall clock, and each phase's share.

A warm compare (images built, defaults: 200 samples, 5 cold starts) is what a learner waits for
most often. This runs `labctl --debug compare --json` ``--runs`` times (default 3), each as a
fresh process, and prints the minimum, median and maximum wall-clock time, then the median of
each phase that `--debug` reports (building, starting, checking, timing, cold starts…), so a
change can be judged by what it removes: fixed cost (starts, stops, checks) or measurement.
Sends traffic only to the servers labctl starts on this machine. Usage:

    python bench/warm_compare.py [--runs 3] [-- extra compare arguments, e.g. go node]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

PHASES = re.compile(r"phases \(([\d.]+) s in all\): (.*)")
PART = re.compile(r"([\w-]+) ([\d.]+) s")


def one_run(extra: list[str]) -> tuple[float, dict[str, float]]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "labctl", "--debug", "compare", "--json", *extra],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "400"})
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"labctl compare failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    flat = " ".join(done.stderr.split())
    match = PHASES.search(flat)
    phases = {name: float(s) for name, s in PART.findall(match.group(2))} if match else {}
    return wall, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments passed on to labctl compare")
    args = parser.parse_args()
    walls, phases = [], []
    for index in range(args.runs):
        wall, parts = one_run(args.extra)
        walls.append(wall)
        phases.append(parts)
        print(f"run {index + 1}: {wall:.1f} s  " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()),
              flush=True)
    print(f"\nwarm compare, {args.runs} runs: min {min(walls):.1f} s, median "
          f"{statistics.median(walls):.1f} s, max {max(walls):.1f} s (goal: 8 s)")
    names = sorted({name for parts in phases for name in parts},
                   key=lambda n: -statistics.median(p.get(n, 0.0) for p in phases))
    for name in names:
        print(f"  {name:<12} median {statistics.median(p.get(name, 0.0) for p in phases):5.1f} s")


if __name__ == "__main__":
    main()
