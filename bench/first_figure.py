#!/usr/bin/env python3
"""How long a learner waits on a bare machine before `labctl compare` shows its first figure.

"Bare" here: no Docker engine in the way (``--runtime local``, native processes) and an empty
build cache (a fresh XDG_CACHE_HOME per run), so every server is built from source first, as on
a learner's first run. Each run is a fresh ``python -m labctl compare --runtime local`` at 80
columns; the bench notes when the first line carrying a figure (a time in µs or ms) reaches
stdout or stderr (a first compare prints each server's first look on stderr as soon as it is
built, the comparison on stdout at the end), and when the process ends. ``--runs`` times
(default 3): minimum, median and maximum of both, against the goals (first figure 30 s, all
four 60 s). Sends traffic only to the servers labctl starts on 127.0.0.1. Needs the four
toolchains (Go, Python, Rust, Node). Usage:

    python bench/first_figure.py [--runs 3] [-- extra compare arguments, e.g. go python]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

FIGURE = re.compile(r"\d[\d,.]* ?(µs|ms)\b")


def one_run(extra: list[str]) -> tuple[float | None, float]:
    """(seconds to the first figure or None, seconds to the end)."""
    with tempfile.TemporaryDirectory(prefix="labctl-bench-cache-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "COLUMNS": "80", "LABCTL_WIDTH": "80"}
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "labctl", "compare", "--runtime", "local", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, env=env)
        first = None
        assert process.stdout is not None
        for line in process.stdout:
            if first is None and FIGURE.search(line):
                first = time.monotonic() - started
        if process.wait() != 0:
            sys.exit(f"labctl compare failed with status {process.returncode}")
        return first, time.monotonic() - started


def _spread(values: list[float]) -> str:
    return (f"min {min(values):.1f} s, median {statistics.median(values):.1f} s, "
            f"max {max(values):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments passed on to labctl compare")
    args = parser.parse_args()
    firsts, ends = [], []
    for index in range(args.runs):
        first, end = one_run(args.extra)
        ends.append(end)
        if first is not None:
            firsts.append(first)
        shown = f"{first:.1f} s" if first is not None else "none"
        print(f"run {index + 1}: first figure {shown}, all done {end:.1f} s", flush=True)
    print(f"\nbare-machine compare, {args.runs} runs (native processes, empty build cache):")
    if firsts:
        print(f"  first figure: {_spread(firsts)} (goal: 30 s)")
    print(f"  all done:     {_spread(ends)} (goal: 60 s)")


if __name__ == "__main__":
    main()
