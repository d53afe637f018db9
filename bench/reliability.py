"""The reliability report: labctl under signals, kill -9, concurrency and hostile clients, on the
real Docker engine, printed as one table.

    python bench/reliability.py                       # the full run of issue 12 (long)
    python bench/reliability.py --signals 4 --kills 3 --saves 20 --stress-seconds 5   # shorter

Rows: SIGINT/SIGTERM at random moments of run/compare/load (containers left, exit codes); kill -9
at random moments followed by another labctl command (left afterwards); two compares at once; kill
-9 during progress saves (files readable); the bad-input table (tracebacks); each server under
wrk -c 256, a 1 MB header, malformed request lines and 200 trickling connections (still answering,
restarts). Everything it starts is its own (labelled with its labctl's pid) and removed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ["go", "python", "rust", "node"]
client = docker.from_env()
rows: list[tuple[str, str, str, str]] = []
seen_tracebacks: list[str] = []


def labctl(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labctl", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def left_by(pid: int) -> int:
    return len(client.containers.list(all=True, filters={"label": f"labctl.pid={pid}"}))


def wait_gone(pid: int, timeout_s: float = 10) -> int:
    deadline = time.monotonic() + timeout_s
    while left_by(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left_by(pid)


COMMANDS = {
    "run": ["run", "go", "--samples", "2000", "--runtime", "docker"],
    "compare": ["compare", "go", "node", "--samples", "10", "--cold-starts", "1", "--runtime", "docker"],
    "load": ["load", "go", "-c", "8", "-d", "3s", "--runtime", "docker"],
}


def signals(count: int, rng: random.Random) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        left, codes, tracebacks = 0, {}, 0
        for n in range(count):
            name = list(COMMANDS)[n % len(COMMANDS)]
            process = labctl(*COMMANDS[name])
            time.sleep(rng.uniform(0.3, 6.0))     # start-up, build check, start, measure, stop
            process.send_signal(sig)
            _, stderr = process.communicate(timeout=120)
            codes[process.returncode] = codes.get(process.returncode, 0) + 1
            if "Traceback" in stderr:
                tracebacks += 1
                seen_tracebacks.append(f"{sig.name} during {name}:\n" + "\n".join(stderr.splitlines()[-6:]))
            left += wait_gone(process.pid)
        rows.append((f"{sig.name} ×{count} at random moments of run/compare/load",
                     f"{left} containers left, {tracebacks} tracebacks",
                     "exit codes " + ", ".join(f"{c}×{k}" for k, c in sorted(codes.items())),
                     "PASS" if left == 0 and tracebacks == 0 else "FAIL"))


def kills(count: int, rng: random.Random) -> None:
    left = 0
    for n in range(count):
        name = list(COMMANDS)[n % len(COMMANDS)]
        process = labctl(*COMMANDS[name])
        time.sleep(rng.uniform(0.5, 6.0))
        process.kill()
        process.wait()
        subprocess.run([sys.executable, "-m", "labctl", "servers"], capture_output=True, cwd=ROOT)
        left += left_by(process.pid)
    rows.append((f"kill -9 ×{count}, then labctl servers", f"{left} containers left", "",
                 "PASS" if left == 0 else "FAIL"))


def concurrent() -> None:
    first, second = labctl(*COMMANDS["compare"]), labctl(*COMMANDS["compare"])
    codes = [p.wait(timeout=900) for p in (first, second)]
    run_during_load = labctl(*COMMANDS["load"][:4], "-d", "8s", "--runtime", "docker")
    time.sleep(3)
    run = labctl("run", "go", "--samples", "50", "--runtime", "docker")
    codes += [run.wait(timeout=300), run_during_load.wait(timeout=300)]
    left = sum(wait_gone(p.pid) for p in (first, second, run, run_during_load))
    rows.append(("two compares at once; a run during a load", f"exit codes {codes}",
                 f"{left} containers left", "PASS" if codes == [0, 0, 0, 0] and left == 0 else "FAIL"))


SAVER = """
import sys
from dataclasses import dataclass
from pathlib import Path
from fsrs import Rating
from labctl.learning.progress import Progress
@dataclass
class Q:
    id: str
    def text_hash(self): return "h"
p = Progress.load(Path(sys.argv[1]))
n = 0
while True:
    p.review("999-bench", Q(f"q{n % 3000}"), Rating.Good); n += 1
"""


def saves(count: int, rng: random.Random) -> None:
    folder = Path(tempfile.mkdtemp())
    path = folder / "progress.json"
    readable = 0
    for _ in range(count):
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], cwd=ROOT)
        time.sleep(rng.uniform(0.3, 1.5))
        process.kill()
        process.wait()
        try:
            json.loads(path.read_text()) if path.exists() else None
            readable += 1
        except ValueError:
            pass
    size = path.stat().st_size if path.exists() else 0
    shutil.rmtree(folder)
    rows.append((f"kill -9 ×{count} during progress saves", f"{readable}/{count} files readable",
                 f"file grew to {size // 1024} KB", "PASS" if readable == count else "FAIL"))


def bad_inputs() -> None:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_bad_input.py", "tests/test_lesson_fuzz.py"],
                            capture_output=True, text=True, cwd=ROOT)
    passed = int((re.search(r"(\d+) passed", result.stdout) or [0, 0])[1])
    failed = int((re.search(r"(\d+) failed", result.stdout) or [0, 0])[1])
    rows.append(("bad-input table (every command × option) and 300 mutated lessons",
                 f"{passed + failed} cases", f"{failed} with a traceback or no one-line error",
                 "PASS" if failed == 0 and passed else "FAIL"))


def raw(port: int, payload: bytes, timeout_s: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(payload)
            return sock.recv(200)
        except OSError as exc:
            return f"closed ({type(exc).__name__})".encode()


def healthy(port: int) -> bool:
    try:
        return raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def stress(seconds: int) -> None:
    for name in SERVERS:
        process = labctl("run", name, "--keep", "--json", "--samples", "2", "--runtime", "docker")
        stdout, stderr = process.communicate(timeout=900)
        if process.returncode != 0:
            rows.append((f"{name} under hostile clients", "could not start", stderr.strip()[-80:], "FAIL"))
            continue
        port = int(json.loads(stdout)["url"].rsplit(":", 1)[1])
        container = client.containers.list(filters={"label": f"labctl.pid={process.pid}"})[0]
        try:
            answers = []
            wrk = subprocess.run(["wrk", "-c", "256", "-t", "2", "-d", f"{seconds}s",
                                  f"http://127.0.0.1:{port}/health"], capture_output=True, text=True)
            rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout)
            answers.append(healthy(port))
            big = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_048_576 + b"\r\n\r\n")
            answers.append(healthy(port))
            for line in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                         b"\x00\xff\x16\x03\x01\r\n\r\n", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n"):
                raw(port, line)
            answers.append(healthy(port))
            trickle = []
            for _ in range(200):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                    trickle.append(sock)
                except OSError:
                    break
            for _ in range(seconds):
                for sock in trickle:
                    try:
                        sock.sendall(b"X-a: b\r\n")
                    except OSError:
                        pass
                time.sleep(1)
            answers.append(healthy(port))      # while 200 slow clients are still connected
            for sock in trickle:
                sock.close()
            container.reload()
            restarts = container.attrs["RestartCount"]
            running = container.status == "running"
            ok = all(answers) and running and restarts == 0
            rows.append((f"{name}: wrk -c 256 -d {seconds}s, 1 MB header, malformed lines, "
                         f"{len(trickle)} trickling",
                         f"answering after each: {['yes' if a else 'NO' for a in answers]}",
                         f"{float(rps[1]) if rps else 0:,.0f} req/s; 1 MB header → "
                         f"{big[:12].decode(errors='replace')!r}; restarts {restarts}",
                         "PASS" if ok else "FAIL"))
        finally:
            container.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=20, help="SIGINTs and SIGTERMs (each)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--saves", type=int, default=50)
    parser.add_argument("--stress-seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    load = os.getloadavg()[0]
    subprocess.run([sys.executable, "-m", "labctl", "run", "go", "--samples", "1", "--runtime", "docker"],
                   capture_output=True, cwd=ROOT)    # built once, so signals land in every phase
    signals(args.signals, rng)
    kills(args.kills, rng)
    concurrent()
    saves(args.saves, rng)
    bad_inputs()
    stress(args.stress_seconds)
    table = Table(title=f"labctl reliability ({os.cpu_count()} cores, load {load:.1f} at start, "
                        f"{time.monotonic() - started:.0f} s)", show_lines=True)
    for column in ("what", "result", "detail", "verdict"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)
    for text in seen_tracebacks:
        print(text)
    sys.exit(0 if all(r[3] == "PASS" for r in rows) else 1)


if __name__ == "__main__":
    main()
