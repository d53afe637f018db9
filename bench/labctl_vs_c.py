#!/usr/bin/env python3
"""Benchmark labctl's own measuring against C clients, on one running Go container.

1. Latency: labctl's in-process libcurl probe (kept-alive connection, GET /health) against two
   C clients on the same CPU: curl itself, timing each of 1000 URLs it fetches over one reused
   connection (`curl -w '%{time_total}'`: the figure labctl claims to reproduce), and wrk with
   one connection (`wrk -t1 -c1 --latency`). Goal: labctl's p50 ≤ 1.2 × the C client's.
2. Throughput: `labctl load` (wrk in its container, over the bridge) against the host's wrk run
   directly with the same parameters, alternating twice each within the same minute or two.
   Goal: labctl's requests/s ≥ 0.9 × wrk's.

Needs a Docker engine and wrk on the host (`apt-get install wrk`); honours the LABCTL_*_IMAGE
variables like labctl. Sends traffic only to the container it starts. Usage:

    python bench/labctl_vs_c.py [--samples 2000] [--connections 100] [--duration 10]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time

from labctl import servers
from labctl.commands.common import default_limits
from labctl.measure import loadgen, stats
from labctl.measure.probe import KEEPALIVE, Prober
from labctl.runtime import cpus
from labctl.runtime.docker import DockerRuntime
from labctl.runtime.lifecycle import running

LATENCY_GOAL = 1.2
THROUGHPUT_GOAL = 0.9


def wrk_latency_p50_us(url: str, cpuset: str, seconds: int) -> float:
    """wrk's own p50 for one kept-alive connection, from its --latency distribution."""
    out = subprocess.run(["taskset", "-c", cpuset, "wrk", "-t1", "-c1", f"-d{seconds}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        raise SystemExit(f"could not read wrk's p50 from:\n{out}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]


def curl_keepalive_p50_us(url: str, cpuset: str, count: int = 1000) -> float:
    """curl's own time_total for ``count`` fetches in one invocation (one reused connection)."""
    args = []
    for _ in range(count):
        args += ["-o", "/dev/null", url]
    out = subprocess.run(["taskset", "-c", cpuset, "curl", "-s", "-w", "%{time_total}\n", *args],
                         capture_output=True, text=True, check=True).stdout
    values = sorted(float(line) * 1e6 for line in out.split())
    return stats.percentile(values[50:], 50)   # the first requests warm up, as in the others


def wrk_requests_per_s(url: str, cpuset: str, connections: int, seconds: int) -> float:
    out = subprocess.run(["taskset", "-c", cpuset, "wrk", "-t1", f"-c{connections}",
                          f"-d{seconds}s", url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    if not match:
        raise SystemExit(f"could not read wrk's requests/s from:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed on this host: sudo apt-get install wrk")

    runtime = DockerRuntime()
    runtime.check()
    go = servers.get("go")
    runtime.prepare(go)
    limits = default_limits(1.0, 512)
    report: dict = {"server": "go", "limits": limits.as_dict()}
    with running(runtime, go, limits) as instance:
        client = cpus.client_cpuset(instance.limits) or "0"
        url = instance.url
        report["path"] = instance.path
        report["client_cpus"] = client

        # 1. Latency, alternating labctl and wrk twice so drift hits both.
        labctl_p50s, wrk_p50s, curl_p50s = [], [], []
        for _ in range(2):
            with cpus.pinned(client), Prober(url, KEEPALIVE) as prober:
                for _ in range(200):
                    prober.request("/health")          # warm-up, discarded
                samples = [prober.request("/health").total_us for _ in range(args.samples // 2)]
            labctl_p50s.append(stats.percentile(sorted(samples), 50))
            curl_p50s.append(curl_keepalive_p50_us(url + "/health", client))
            wrk_p50s.append(wrk_latency_p50_us(url + "/health", client, 5))
        labctl_p50 = statistics.median(labctl_p50s)
        curl_p50 = statistics.median(curl_p50s)
        wrk_p50 = statistics.median(wrk_p50s)
        report["latency"] = {
            "what": "GET /health on one kept-alive connection, p50 in µs",
            "labctl_probe_p50_us": round(labctl_p50, 1), "curl_p50_us": round(curl_p50, 1),
            "wrk_c1_p50_us": round(wrk_p50, 1),
            "ratio_to_curl": round(labctl_p50 / curl_p50, 3),
            "ratio_to_wrk": round(labctl_p50 / wrk_p50, 3), "goal": f"≤ {LATENCY_GOAL}",
            "met": labctl_p50 / curl_p50 <= LATENCY_GOAL,
            "rounds": {"labctl": [round(v, 1) for v in labctl_p50s],
                       "curl": [round(v, 1) for v in curl_p50s],
                       "wrk": [round(v, 1) for v in wrk_p50s]},
        }

        # 2. Throughput, alternating labctl load and wrk by hand.
        options = loadgen.LoadOptions(path="/", connections=args.connections,
                                      duration_s=args.duration, threads=1)
        generator = loadgen.prepare_generator(runtime, options)
        subprocess.run(["taskset", "-c", client, "wrk", "-t1", f"-c{args.connections}", "-d2s",
                        url + "/"], capture_output=True, check=True)     # warm-up
        labctl_rps, wrk_rps = [], []
        for _ in range(2):
            result = loadgen.run_load(runtime, instance, options, client, generator=generator)
            labctl_rps.append(result.requests_per_s)
            wrk_rps.append(wrk_requests_per_s(url + "/", client, args.connections, args.duration))
            time.sleep(1)
        ratio = statistics.median(labctl_rps) / statistics.median(wrk_rps)
        report["throughput"] = {
            "what": f"GET / closed loop, {args.connections} connections, {args.duration} s, "
                    "1 wrk thread, keep-alive",
            "labctl_load_rps": [round(v) for v in labctl_rps],
            "wrk_direct_rps": [round(v) for v in wrk_rps],
            "ratio": round(ratio, 3), "goal": f"≥ {THROUGHPUT_GOAL}",
            "met": ratio >= THROUGHPUT_GOAL,
            "labctl_generator": result.where_detail,
        }

    if args.json:
        print(json.dumps(report, indent=2))
        return
    lat, thr = report["latency"], report["throughput"]
    print(f"Go net/http in Docker, measured over {report['path']}; clients on CPU "
          f"{report['client_cpus']}, server limited to 1 core on CPU {limits.cpuset}")
    print(f"latency    {lat['what']}: labctl {lat['labctl_probe_p50_us']} µs, "
          f"curl {lat['curl_p50_us']} µs → {lat['ratio_to_curl']}× (goal {lat['goal']}: "
          f"{'met' if lat['met'] else 'NOT met'}); wrk -c1 {lat['wrk_c1_p50_us']} µs → "
          f"{lat['ratio_to_wrk']}× (wrk does none of libcurl's per-transfer work, which "
          "curl -w includes)")
    print(f"throughput {thr['what']}: labctl load {thr['labctl_load_rps']} req/s, wrk direct "
          f"{thr['wrk_direct_rps']} req/s → {thr['ratio']}× (goal {thr['goal']}: "
          f"{'met' if thr['met'] else 'NOT met'})")
    sys.exit(0 if lat["met"] and thr["met"] else 1)


if __name__ == "__main__":
    main()
