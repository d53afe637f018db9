"""Mutation testing of the measuring and grading core: would the engine-free suite notice a bug?

    python bench/mutation.py                       # every module (tens of minutes on 2 cores)
    python bench/mutation.py stats verify -j 2     # some modules, two at a time
    python bench/mutation.py --list                # the modules and the tests run for each

For each module it makes every single mutation of a documented kind, one at a time, in a copy of
the labctl package (the working tree is never touched), runs only that module's engine-free test
files against it, and counts the mutant killed when they fail (or hang past a timeout). It
prints the score per module and each surviving mutant. A survivor is either a missing test or an
equivalent mutant (one no test could tell apart, such as a change to a timeout that only matters
on a hung server); the equivalent ones are listed in EQUIVALENT with the reason, and left out of
the score. Goal: at least 90% of the non-equivalent mutants killed in every module.

The mutations (the bugs a tired person writes):
- comparison flipped: < ↔ <=, > ↔ >=, == ↔ !=, in ↔ not in, is ↔ is not
- arithmetic swapped: + ↔ -, * ↔ /, // → /, % → *
- a number off by one (n → n + 1; a float f → 2·f, 0.0 → 1.0), True ↔ False
- and ↔ or; a `not` dropped
- a return value replaced by None (or by `not` it, for a comparison)
Numbers in default arguments, string contents and docstrings are left alone.

Not part of the normal test run (scripts/test): it runs the suite hundreds of times.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE_TESTS = ["tests/test_measuring_core.py"]

# module → (source file, the engine-free tests that cover it, functions to mutate (None: all))
MODULES: dict[str, tuple[str, list[str], set[str] | None]] = {
    "probe": ("labctl/measure/probe.py", ["tests/test_probe.py", *CORE_TESTS], None),
    "probe pinning": ("labctl/runtime/cpus.py", ["tests/test_engine_location.py", *CORE_TESTS],
                      {"parse_cpuset", "format_cpuset", "client_cpuset", "pin_child", "pinned"}),
    "sampling": ("labctl/measure/sampling.py", ["tests/test_probe.py", *CORE_TESTS], None),
    "stats": ("labctl/measure/stats.py", ["tests/test_stats.py", *CORE_TESTS], None),
    "verify": ("labctl/measure/verify.py",
               ["tests/test_verify_framing.py", *CORE_TESTS], None),
    "wrk parser": ("labctl/measure/loadgen/wrk.py",
                   ["tests/test_loadgen_parsing.py", *CORE_TESTS],
                   {"parse_wrk_report", "_wrk_time_us", "parse_wrk_text", "parse_wrk_version",
                    "wrk_figures", "result_from_wrk"}),
    "oha parser": ("labctl/measure/loadgen/oha.py",
                   ["tests/test_oha.py", "tests/test_loadgen_parsing.py", *CORE_TESTS],
                   {"parse_oha_report", "_seconds_to_us", "_error_kinds", "result_from_oha",
                    "parse_oha_version"}),
    "exercise checks": ("labctl/learning/exercise_checks.py",
                        ["tests/test_exercises.py", *CORE_TESTS],
                        {"_throughput", "_latency", "_connection_reuse", "_statuses", "_ms"}),
    "answer units": ("labctl/learning/answer_units.py", ["tests/test_units.py", *CORE_TESTS], None),
    "quiz grading": ("labctl/learning/quiz.py",
                     ["tests/test_quiz.py", "tests/test_quiz_strategies.py", *CORE_TESTS],
                     {"parse_answer", "_parse_choice", "_parse_bool", "_parse_number",
                      "item_unit", "is_correct", "grade", "stem", "stems", "keyword_in",
                      "live_keywords", "touched"}),
}

# (module, source line as written, mutation) → why no test can tell the mutant apart.
_FROZEN = "frozen only refuses assignment to its fields, and no code assigns to them"
_SAME_BOUND = "the whole-request timeout (TIMEOUT_MS, the same value) bounds the connect too"
_COUNTS = "convert returns a count as written (count to count), so its factor is never used"
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("probe", "@dataclass(frozen=True)", "True → False"): _FROZEN,
    ("probe", "curl.setopt(pycurl.NOSIGNAL, 1)", "1 → 2"): "libcurl takes any non-zero as on",
    ("probe", "curl.setopt(pycurl.TIMEOUT_MS, int(timeout_s * 1000))", "1000 → 1001"):
        "a timeout 0.1 % longer: only a hung server notices, 5 ms later",
    ("probe", "curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout_s * 1000))", "* → /"):
        _SAME_BOUND,
    ("probe", "curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout_s * 1000))", "1000 → 1001"):
        _SAME_BOUND,
    ("probe", "fresh = 1 if mode == FRESH else 0", "1 → 2"): "libcurl takes any non-zero as on",
    ("verify", "@dataclass(frozen=True)", "True → False"): _FROZEN,
    ("verify", "return httpx.Client(timeout=5.0, trust_env=False, follow_redirects=False)",
     "5.0 → 10.0"): "a longer timeout: only a hung server notices",
    ("verify", "if wait > 0:", "> → >="): "sleeping for exactly 0 s is not sleeping",
    ("verify", "parsed = rawhttp.parse_response(raw[:head_end + 4], head=True, eof=True)",
     "4 → 5"): "parsed as for HEAD, the body starts where the head ends whatever follows",
    ("verify", "parsed = rawhttp.parse_response(raw[:head_end + 4], head=True, eof=True)",
     "True → False"): "(eof) the bytes given always hold a whole head, and HEAD needs no more",
    ("exercise checks", "generator=generator, warmup_s=0.5)", "0.5 → 1.0"):
        "a longer warm-up before the measured run; no bound depends on it",
    ("answer units", "@dataclass(frozen=True)", "True → False"): _FROZEN,
    ("answer units", 'Unit("", "count", 1.0),', "1.0 → 2.0"): _COUNTS,
    ("answer units", '*(Unit(noun, "count", 1.0) for noun in ("connections", "requests", '
     '"goroutines", "threads",', "1.0 → 2.0"): _COUNTS,
    ("answer units", 'if quantity.unit.symbol == "" and quantity.written == "":', "and → or"):
        "parse writes the count unit exactly when nothing was written, so the two agree",
    ("answer units", "if rounded.is_integer() and abs(rounded) < 1e15:", "< → <="):
        "at and above 1e15 both branches print the same digits",
    ("answer units", "if rounded.is_integer() and abs(rounded) < 1e15:",
     "1000000000000000.0 → 2000000000000000.0"):
        "at and above 1e15 both branches print the same digits",
    ("quiz grading", "return abs(value - item.answer) <= item.tolerance + 1e-9 * "
     "max(1.0, abs(item.answer))", "<= → <"):
        "differs only at a distance of exactly tolerance + epsilon, which no decimal answer hits",
    ("quiz grading", "return any(answer_stems[i:i + size] == wanted for i in "
     "range(len(answer_stems) - size + 1))", "- → +"):
        "the extra windows are shorter than the keyword and never equal it",
    ("quiz grading", "return any(answer_stems[i:i + size] == wanted for i in "
     "range(len(answer_stems) - size + 1))", "1 → 2"):
        "the extra window is shorter than the keyword and never equals it",
    ("sampling", "keep=sent + offset >= warmup, limit=max(3, samples // 4))", "// → /"):
        "an error count is whole: more than n and more than n + a fraction agree",
}


@dataclass(frozen=True)
class Mutant:
    module: str
    line: int
    text: str          # the source line, stripped
    what: str          # "< → <=", "3 → 4", …
    start: int         # byte offsets of the replaced node in the file
    end: int
    replacement: bytes

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.text, self.what)


COMPARE_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                 ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.FloorDiv: ast.Div, ast.Mod: ast.Mult}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+",
          ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
          ast.And: "and", ast.Or: "or"}


def _variants(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(description, mutated copy) for each single mutation of ``node`` itself."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            if type(op) in COMPARE_FLIPS:
                new = copy.deepcopy(node)
                new.ops[index] = COMPARE_FLIPS[type(op)]()
                yield f"{SYMBOL[type(op)]} → {SYMBOL[type(new.ops[index])]}", new
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        if isinstance(node.op, ast.Mod) and isinstance(node.left, (ast.Constant, ast.JoinedStr)):
            return   # "%" formatting of a string, not arithmetic
        new = copy.deepcopy(node)
        new.op = BINOP_SWAPS[type(node.op)]()
        yield f"{SYMBOL[type(node.op)]} → {SYMBOL[type(new.op)]}", new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield f"{SYMBOL[type(node.op)]} → {SYMBOL[type(new.op)]}", new
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not dropped", copy.deepcopy(node.operand)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        if isinstance(node.value, bool):
            yield f"{node.value} → {not node.value}", ast.Constant(not node.value)
        elif isinstance(node.value, int):
            yield f"{node.value} → {node.value + 1}", ast.Constant(node.value + 1)
        else:
            bumped = node.value * 2 if node.value else 1.0
            yield f"{node.value!r} → {bumped!r}", ast.Constant(bumped)
    elif isinstance(node, ast.Return) and node.value is not None:
        if isinstance(node.value, ast.Compare):
            yield "return not (…)", ast.Return(ast.UnaryOp(ast.Not(), copy.deepcopy(node.value)))
        elif not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return None", ast.Return(ast.Constant(None))


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, default argument values."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    skipped.update(id(n) for n in ast.walk(default))
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                if arg.annotation is not None:
                    skipped.update(id(n) for n in ast.walk(arg.annotation))
            if node.returns is not None:
                skipped.update(id(n) for n in ast.walk(node.returns))
        if isinstance(node, ast.AnnAssign):
            skipped.update(id(n) for n in ast.walk(node.annotation))
        if isinstance(node, ast.JoinedStr):   # f-strings: unparse would re-quote them
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def mutants(module: str) -> list[Mutant]:
    path, _, functions = MODULES[module]
    source = (ROOT / path).read_bytes()
    tree = ast.parse(source)
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    lines = source.decode().splitlines()
    skipped = _skipped_nodes(tree)

    def scopes() -> Iterator[ast.AST]:
        if functions is None:
            yield tree
            return
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions:
                yield node

    found: list[Mutant] = []
    seen: set[int] = set()
    for scope in scopes():
        for node in ast.walk(scope):
            if id(node) in skipped or id(node) in seen or not hasattr(node, "end_lineno"):
                continue
            seen.add(id(node))
            start = line_starts[node.lineno - 1] + node.col_offset
            end = line_starts[node.end_lineno - 1] + node.end_col_offset
            for what, new in _variants(node):
                text = ast.unparse(ast.fix_missing_locations(new))
                if isinstance(node, ast.expr):
                    text = f"({text})"
                found.append(Mutant(module, node.lineno, lines[node.lineno - 1].strip(), what,
                                    start, end, text.encode()))
    return sorted(set(found), key=lambda m: (m.line, m.start, m.what))


def make_copy(copy_root: Path) -> None:
    """The project in ``copy_root``: its own copy of the labctl package (to mutate), everything
    else linked to the working tree."""
    shutil.copytree(ROOT / "labctl", copy_root / "labctl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for entry in ROOT.iterdir():
        if entry.name not in ("labctl", ".git", ".venv") and not entry.name.startswith("."):
            (copy_root / entry.name).symlink_to(entry)


def run_tests(copy_root: Path, tests: list[str], timeout_s: float) -> str:
    """'killed' | 'survived' | 'timeout' for one pytest run in ``copy_root`` (``python -m``
    puts the current directory first on the import path, so its labctl, the mutant, is the one
    imported, not the installed one)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "-m", "not docker", *tests],
            cwd=copy_root, env=env, capture_output=True, text=True, timeout=timeout_s,
            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def check_module(module: str, log) -> dict:
    path, tests, _ = MODULES[module]
    found = mutants(module)
    with tempfile.TemporaryDirectory(prefix="labctl-mutants-") as folder:
        copy_root = Path(folder)
        make_copy(copy_root)
        target = copy_root / path
        original = target.read_bytes()
        began = time.monotonic()
        baseline = run_tests(copy_root, tests, timeout_s=600)
        if baseline != "survived":
            # Nothing can be judged against tests that already fail: say so, go on with the rest.
            return {"module": module, "mutants": 0, "equivalent": [], "killed": 0, "counted": 0,
                    "missed": [], "problem": f"its tests fail without any mutation ({baseline})"}
        timeout_s = max(30.0, 4 * (time.monotonic() - began))
        outcomes = []
        for mutant in found:
            target.write_bytes(original[:mutant.start] + mutant.replacement + original[mutant.end:])
            try:
                compile(target.read_bytes(), str(target), "exec")
            except SyntaxError:
                target.write_bytes(original)
                continue   # not a program: not a mutant
            outcome = run_tests(copy_root, tests, timeout_s)
            target.write_bytes(original)
            outcomes.append((mutant, outcome))
            log(f"{module}: {len(outcomes)}/{len(found)} {outcome:8} line {mutant.line}: "
                f"{mutant.what}")
    survivors = [m for m, outcome in outcomes if outcome == "survived"]
    equivalent = [m for m in survivors if m.key in EQUIVALENT]
    missed = [m for m in survivors if m.key not in EQUIVALENT]
    counted = len(outcomes) - len(equivalent)
    return {"module": module, "mutants": len(outcomes), "equivalent": equivalent,
            "killed": counted - len(missed), "counted": counted, "missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of: {', '.join(MODULES)}")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="modules checked at once")
    parser.add_argument("--list", action="store_true", help="the modules and their tests")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per mutant")
    args = parser.parse_args()
    if args.list:
        for name, (path, tests, _) in MODULES.items():
            print(f"{name:16} {path}  ←  {' '.join(tests)}  ({len(mutants(name))} mutants)")
        return
    chosen = args.modules or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; see --list")

    def log(text: str) -> None:
        if args.verbose:
            print(text, file=sys.stderr, flush=True)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda m: check_module(m, log), chosen))
    print(f"{'module':16} {'killed':>8} {'of':>4} {'score':>7} {'equivalent':>11}")
    for r in results:
        if r.get("problem"):
            print(f"{r['module']:16} not scored: {r['problem']}")
            continue
        score = 100 * r["killed"] / r["counted"] if r["counted"] else 100.0
        print(f"{r['module']:16} {r['killed']:8} {r['counted']:4} {score:6.1f}% "
              f"{len(r['equivalent']):11}")
    for r in results:
        for m in r["missed"]:
            print(f"SURVIVED  {r['module']}: {MODULES[r['module']][0]}:{m.line}  {m.what}   {m.text}")
        for m in r["equivalent"]:
            print(f"equivalent {r['module']}: line {m.line} {m.what}: {EQUIVALENT[m.key]}")
    print(f"({time.monotonic() - began:.0f} s, {os.cpu_count()} cores)")
    low = [r for r in results if r.get("problem")
           or (r["counted"] and r["killed"] / r["counted"] < 0.9)]
    sys.exit(1 if low else 0)


if __name__ == "__main__":
    main()
