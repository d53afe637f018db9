#!/usr/bin/env python3
"""What the Rust server's release profile costs a learner, and what a cheaper one would lose.

servers/rust/Cargo.toml builds with fat LTO and one codegen unit: the fastest binary, and the
slowest build, on the first run (`labctl compare` with no images yet) and after every edit of
an exercise's source. This builds the server from nothing with each profile below, in a target
directory of its own (so no build reuses another's work), then rebuilds it after touching
src/main.rs (the learner's edit loop), and measures each binary on one core with wrk on the
other: requests per second on `/` (framework and runtime), `/report` (the CPU-bound
handler) and `/users/1` (one SQLite query), closed loop, 10 kept-alive connections.

    python bench/rust_profile.py [--duration 5] [--runs 3] [--only TEXT ...]

Needs cargo, wrk and two CPUs; sends traffic to loopback only; leaves nothing running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labctl.measure.loadgen.wrk import parse_wrk_text  # noqa: E402

SOURCE = ROOT / "servers" / "rust"
# name → the profile settings, as cargo's `--config` overrides of Cargo.toml's profiles
PROFILES: dict[str, dict[str, str]] = {
    "shipped: fat LTO, 1 codegen unit": {},
    # Before Cargo.toml set SQLite's C source to -O2 (it then inherited -O3).
    "shipped, but SQLite's C at -O3": {"profile.release.package.libsqlite3-sys.opt-level": "3"},
    "thin LTO, 16 codegen units": {"profile.release.lto": '"thin"',
                                   "profile.release.codegen-units": "16"},
    "cargo's default: no LTO, 16 units": {"profile.release.lto": "false",
                                          "profile.release.codegen-units": "16"},
    # What tests/conftest.py sets for the suite's native builds (it checks behaviour, not speed).
    "the tests': no LTO, 16 units, opt-level 0": {"profile.release.lto": '"off"',
                                                  "profile.release.codegen-units": "16",
                                                  "profile.release.opt-level": "0"},
}
PATHS = ("/", "/report", "/users/1")


def _cargo_build(project: Path, target: Path, settings: dict[str, str]) -> float:
    overrides = [arg for key, value in settings.items() for arg in ("--config", f"{key}={value}")]
    began = time.monotonic()
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--target-dir",
                    str(target), *overrides], cwd=project, check=True)
    return time.monotonic() - began


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _throughput(binary: Path, duration_s: float, runs: int) -> dict[str, float]:
    """Median req/s per path over ``runs`` wrk runs: the server on the last CPU, wrk on the
    first (as labctl pins them)."""
    cpus = sorted(os.sched_getaffinity(0))
    port = _free_port()
    server = subprocess.Popen([str(binary)], env={**os.environ, "PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=lambda: os.sched_setaffinity(0, {cpus[-1]}))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        figures = {}
        for path in PATHS:
            rates = []
            for _ in range(runs):
                out = subprocess.run(
                    ["wrk", "-t1", "-c10", f"-d{duration_s:g}s", "--latency",
                     f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                    check=True, preexec_fn=lambda: os.sched_setaffinity(0, {cpus[0]})).stdout
                parsed = parse_wrk_text(out)
                if parsed is None:
                    raise SystemExit(f"wrk printed no figures for {path}:\n{out}")
                rates.append(parsed["requests"] / (parsed["duration_us"] / 1e6))
            figures[path] = statistics.median(rates)
        return figures
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per path (median shown)")
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="only the profiles whose name contains TEXT (repeatable; the "
                             "first one measured is the baseline of the comparison)")
    args = parser.parse_args()
    chosen = {name: settings for name, settings in PROFILES.items()
              if not args.only or any(text in name for text in args.only)}
    if not chosen:
        print(f"no profile matches {args.only}; the profiles: {', '.join(PROFILES)}",
              file=sys.stderr)
        return 1
    if len(os.sched_getaffinity(0)) < 2 or not shutil.which("wrk") or not shutil.which("cargo"):
        print("needs two CPUs, wrk and cargo", file=sys.stderr)
        return 1
    load = os.getloadavg()[0]
    print(f"Rust server, {os.cpu_count()} CPUs, load average {load:.1f}; req/s: median of "
          f"{args.runs} wrk runs of {args.duration:g} s, closed loop, 10 kept-alive connections, "
          "server on one core, wrk on another")
    width = max(len(name) for name in chosen)
    print(f"{'profile':{width}} {'clean build':>11} {'rebuild':>8} {'binary':>8} "
          + " ".join(f"{path + ' req/s':>14}" for path in PATHS))
    rows = []
    with tempfile.TemporaryDirectory(prefix="labctl-rust-profile-") as folder:
        project = Path(folder) / "rust"
        shutil.copytree(SOURCE, project, ignore=shutil.ignore_patterns("target"))
        for name, settings in chosen.items():
            target = Path(folder) / f"target-{len(rows)}"
            clean = _cargo_build(project, target, settings)
            (project / "src" / "main.rs").touch()
            rebuild = _cargo_build(project, target, settings)
            binary = target / "release" / "labctl-server"
            rates = _throughput(binary, args.duration, args.runs)
            size_mb = binary.stat().st_size / 1e6
            rows.append((name, clean, rebuild, size_mb, rates))
            print(f"{name:{width}} {clean:9.1f} s {rebuild:6.1f} s {size_mb:6.1f} MB "
                  + " ".join(f"{rates[path]:14,.0f}" for path in PATHS), flush=True)
            shutil.rmtree(target)
    base = rows[0]
    for name, clean, rebuild, _, rates in rows[1:]:
        print(f"{name}: builds {base[1] - clean:+.1f} s faster from nothing, "
              f"{base[2] - rebuild:+.1f} s after an edit; "
              + ", ".join(f"{path} at {rates[path] / base[4][path]:.0%} of the shipped"
                          for path in PATHS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
