#!/usr/bin/env python3
"""Where a CI run's time went, read from a saved `scripts/test` log: set-up, phases, slowest.

CI's budget (issue 27: under 25 minutes) is spent in scripts/test's set-up steps and its pytest
phases (the parallel engine-free tests, then the Docker, local and serial tests one at a time).
This reads what scripts/test and pytest print, runs nothing, and prints: each set-up step; each
phase's wall time with its outcome, and its tests' own times added up (conftest's "time by
test file"; in the parallel phase the workers' summed: divided by the wall time, how well they
overlapped); the whole run's wall time; the costliest files (each phase lists its 12 costliest
in "time by test file"; a file in both phases is added up) and the slowest tests (each phase's
--durations). A log of a run from before the phases (one pytest run) reads as one phase,
"tests". Usage:

    ./scripts/test 2>&1 | tee ci.log;  python bench/ci_phases.py ci.log [--top 10]
    python bench/ci_phases.py < ci.log
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SETUP = re.compile(r"^\[test\] set-up took (\d+) s: (.*)$")
PHASE = re.compile(r"^\[test\] phase \d+ of \d+: the (.+?) \(")
PHASE_FAILED = re.compile(r"^\[test\] phase \d+ failed \(exit (\d+)\)")
TOTAL = re.compile(r"^\[test\] took (\d+) s in all: set-up \d+ s \(.*?\), (.*)$")
STEP = re.compile(r"^(.+?) (\d+) s$")
# pytest's last line: "=== 1771 passed, 102 deselected in 758.73s (0:12:38) ===", or without
# the rules under -q.
OUTCOME = re.compile(r"^=*\s*(\d+ (?:passed|failed|error|errors|skipped|deselected|xfailed|"
                     r"xpassed|warnings?)\b.*?|no tests ran) in ([\d.]+)s\b")
SECTION = re.compile(r"^=+ (.+?) =+$")
FILE_LINE = re.compile(r"^\s*([\d.]+) s\s+[\d.]+ %\s+(\S+)$")
FILES_TOTAL = re.compile(r"^\s*([\d.]+) s\s+in \d+ files")
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S.*)$")


@dataclass
class Phase:
    name: str
    outcome: str = "no result (the run stopped before pytest's last line)"
    pytest_s: float | None = None        # pytest's own "in N s"
    wall_s: float | None = None          # scripts/test's, pytest's start-up included
    test_s: float | None = None          # the tests' summed time ("time by test file")
    files: dict[str, float] = field(default_factory=dict)
    slowest: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Run:
    setup_s: int | None = None
    setup_steps: list[tuple[str, int]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    total_s: int | None = None
    failed_exit: int | None = None


def parse(lines) -> Run:
    run = Run()
    section = ""
    for raw in lines:
        line = ANSI.sub("", raw.rstrip("\n"))
        if found := SETUP.match(line):
            run.setup_s = int(found.group(1))
            run.setup_steps = [(m.group(1), int(m.group(2))) for part in found.group(2).split(", ")
                               if (m := STEP.match(part))]
        elif found := PHASE.match(line):
            run.phases.append(Phase(found.group(1)))
            section = ""
        elif found := PHASE_FAILED.match(line):
            run.failed_exit = int(found.group(1))
        elif found := TOTAL.match(line):
            run.total_s = int(found.group(1))
            walls = dict((m.group(1), int(m.group(2))) for part in found.group(2).split(", ")
                         if (m := STEP.match(part)))
            for phase in run.phases:
                phase.wall_s = walls.get(phase.name, phase.wall_s)
        elif line.startswith("platform ") and not run.phases:
            run.phases.append(Phase("tests"))    # a log from before the phases: one pytest run
        elif found := OUTCOME.match(line):
            current(run).outcome, current(run).pytest_s = found.group(1), float(found.group(2))
            section = ""
        elif found := SECTION.match(line):
            section = found.group(1)
        elif section == "time by test file" and (found := FILE_LINE.match(line)):
            files = current(run).files
            files[found.group(2)] = files.get(found.group(2), 0.0) + float(found.group(1))
        elif section == "time by test file" and (found := FILES_TOTAL.match(line)):
            current(run).test_s = float(found.group(1))
        elif section.startswith("slowest") and (found := DURATION.match(line)):
            current(run).slowest.append((float(found.group(1)),
                                         f"{found.group(3)} ({found.group(2)})"))
    return run


def current(run: Run) -> Phase:
    if not run.phases:
        run.phases.append(Phase("tests"))
    return run.phases[-1]


def seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} s"


def report(run: Run, top: int) -> str:
    out = []
    if run.setup_s is not None:
        out.append(f"{'set-up':<28} {seconds(run.setup_s):>8}")
        out += [f"  {name:<26} {seconds(value):>8}" for name, value in run.setup_steps]
    else:
        out.append("set-up: not in this log (no \"[test] set-up took\" line)")
    for phase in run.phases:
        wall = phase.wall_s if phase.wall_s is not None else phase.pytest_s
        line = f"{phase.name:<28} {seconds(wall):>8}   {phase.outcome}"
        if phase.test_s is not None and wall:
            line += f"; {phase.test_s:.0f} s of test time ({phase.test_s / wall:.1f}× the wall time)"
        out.append(line)
    if run.failed_exit is not None:
        out.append(f"  (a phase failed with exit {run.failed_exit}: the phases after it did not run)")
    if run.total_s is not None:
        out.append(f"{'total':<28} {seconds(run.total_s):>8}")
    else:
        known = [run.setup_s] + [p.wall_s if p.wall_s is not None else p.pytest_s for p in run.phases]
        parts = [value for value in known if value is not None]
        if len(parts) == len(known):
            out.append(f"{'total':<28} {seconds(sum(parts)):>8}   (set-up and phases added up: "
                       "no \"[test] took\" line in this log)")
        else:
            out.append("total: unknown (no \"[test] took\" line, and a phase or the set-up has no time)")
    files: dict[str, float] = {}
    for phase in run.phases:
        for path, value in phase.files.items():
            files[path] = files.get(path, 0.0) + value
    if files:
        out.append("\ncostliest files (test time; each phase lists its 12 costliest):")
        out += [f"  {value:8.1f} s  {path}"
                for path, value in sorted(files.items(), key=lambda kv: -kv[1])[:top]]
    slowest = sorted((entry for phase in run.phases for entry in phase.slowest), reverse=True)
    if slowest:
        out.append("\nslowest tests (each phase's --durations):")
        out += [f"  {value:8.1f} s  {what}" for value, what in slowest[:top]]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", help="a saved scripts/test log (default: standard input)")
    parser.add_argument("--top", type=int, default=10, help="files and tests to list (default 10)")
    args = parser.parse_args()
    if args.log and args.log != "-":
        with open(args.log, encoding="utf-8", errors="replace") as log:
            run = parse(log)
    else:
        run = parse(sys.stdin)
    if not run.phases and run.setup_s is None:
        print("error: no scripts/test or pytest output in this log", file=sys.stderr)
        return 2
    print(report(run, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
