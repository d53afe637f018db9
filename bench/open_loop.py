#!/usr/bin/env python3
"""Benchmark labctl's open-loop generator (oha, `labctl load --rate`) against wrk's closed loop.

On one running Go container (1 core), with every client pinned to the CPUs the server does not
use, it measures:

1. the closed-loop maximum: wrk in its container (labctl's closed-loop generator), and oha with
   no rate (oha's own ceiling, to see its overhead against wrk at full speed);
2. open loop on oha at 50%, 80% and 95% of wrk's maximum: the rate achieved against the rate
   asked, and the latency percentiles. Goal: achieved within 5% of the target up to 80% of the
   closed-loop maximum.

A learner's lesson in one table: the closed loop reports the latency of a saturated server as
if it were fine, because a client that waits for each answer never queues; at a fixed rate the
queue shows up in p99 long before throughput stops growing.

Needs a Docker engine; honours the LABCTL_*_IMAGE variables like labctl. Sends traffic only to
the container it starts. Usage:

    python bench/open_loop.py [--connections 50] [--duration 10]
"""

from __future__ import annotations

import argparse
import json

from labctl import servers
from labctl.commands.common import default_limits
from labctl.measure import loadgen
from labctl.measure.loadgen.oha import ContainerOha
from labctl.runtime import cpus
from labctl.runtime.docker import DockerRuntime
from labctl.runtime.lifecycle import running

OPEN_LOOP_SHARES = (0.5, 0.8, 0.95)
RATE_GOAL = 0.05          # achieved within 5% of the target
GOAL_UP_TO = 0.8          # ... at rates up to 80% of the closed-loop maximum


def _row(label: str, result: loadgen.LoadResult) -> dict:
    latency = result.latency_us
    loop = result.open_loop or {}
    return {"run": label, "generator": result.generator,
            "target_rps": loop.get("target_rate"), "achieved_rps": round(result.requests_per_s),
            "p50_us": latency.get("p50"), "p90_us": latency.get("p90"),
            "p99_us": latency.get("p99"), "max_us": latency.get("max"),
            "errors": result.socket_errors + result.non_2xx}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--path", default="/")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    runtime = DockerRuntime()
    runtime.check()
    go = servers.get("go")
    runtime.prepare(go)
    limits = default_limits(1.0, 512)
    closed = loadgen.LoadOptions(path=args.path, connections=args.connections,
                                 duration_s=args.duration, generator="container")
    wrk = loadgen.prepare_generator(runtime, closed)
    oha = ContainerOha(runtime)
    oha.prepare()
    rows = []
    with running(runtime, go, limits) as instance:
        client = cpus.client_cpuset(instance.limits)
        loadgen.run_load(runtime, instance, loadgen.LoadOptions(
            path=args.path, connections=args.connections, duration_s=2, generator="container"),
            client, generator=wrk)                                       # warm-up, discarded
        wrk_max = loadgen.run_load(runtime, instance, closed, client, generator=wrk)
        rows.append(_row("closed loop, wrk (maximum)", wrk_max))
        ceiling = wrk_max.requests_per_s
        # oha asked for twice wrk's maximum never waits for its schedule: what it achieves is
        # its own ceiling against wrk's (a rate far beyond that only fills its memory).
        flat_out = loadgen.LoadOptions(path=args.path, connections=args.connections,
                                       duration_s=args.duration, rate=round(2 * ceiling))
        oha_max = loadgen.run_load(runtime, instance, flat_out, client, generator=oha)
        rows.append(_row("oha asked for 2× wrk's maximum", oha_max))
        for share in OPEN_LOOP_SHARES:
            options = loadgen.LoadOptions(path=args.path, connections=args.connections,
                                          duration_s=args.duration, rate=round(ceiling * share))
            result = loadgen.run_load(runtime, instance, options, client, generator=oha)
            rows.append(_row(f"open loop, oha at {share:.0%} of wrk's maximum", result))
        where = f"{instance.path}; server 1 core on CPU {limits.cpuset}, clients on CPU {client}"

    held = [row for row, share in zip(rows[2:], OPEN_LOOP_SHARES) if share <= GOAL_UP_TO]
    met = all(abs(row["achieved_rps"] - row["target_rps"]) <= RATE_GOAL * row["target_rps"]
              for row in held)
    overhead = oha_max.requests_per_s / ceiling if ceiling else 0.0
    if args.json:
        print(json.dumps({"where": where, "rows": rows, "oha_vs_wrk_max": round(overhead, 3),
                          "goal_met": met}, indent=2))
        return
    print(f"Go net/http in Docker, GET {args.path}, {args.connections} kept-alive connections, "
          f"{args.duration:g} s per run; measured over {where}")
    print(f"{'run':<44} {'target':>8} {'achieved':>9} {'p50':>9} {'p90':>9} {'p99':>9} "
          f"{'max':>9}  errors")
    for row in rows:
        target = f"{row['target_rps']:,.0f}" if row["target_rps"] and row["target_rps"] < 1e6 else "–"
        figures = [f"{(row[k] or 0) / 1000:.2f}ms" for k in ("p50_us", "p90_us", "p99_us", "max_us")]
        print(f"{row['run']:<44} {target:>8} {row['achieved_rps']:>9,} "
              + " ".join(f"{f:>9}" for f in figures) + f"  {row['errors']}")
    print(f"oha's ceiling is {overhead:.2f}× wrk's; open loop held its rate within "
          f"{RATE_GOAL:.0%} up to {GOAL_UP_TO:.0%} of wrk's maximum: {'met' if met else 'NOT met'}")
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
