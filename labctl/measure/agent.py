"""labctl's probe, run inside a container next to the servers on a Docker engine elsewhere.

The image (labctl/docker/probe) carries a copy of this labctl package, so the checks and the
timings are made by the very code the host uses: ``verify.verify_responses``, ``measure.measure``
with libcurl in-process. One job per container run, given as JSON in the first argument; the
answer is one JSON line on stdout, read back through the engine's API (the container's logs).

Wall-clock times in answers are the engine machine's clock (containers share their host's
kernel clock), so two jobs on the same engine can be compared with each other, never with the
clock of the machine labctl runs on.
"""

from __future__ import annotations

import json
import sys
import time
from types import SimpleNamespace
from typing import Any

AGENT_SCHEMA = "labctl.engine-agent/1"
HEALTH_POLL_S = 0.001
READY_LINE = "labctl-probe-ready"


def health(job: dict) -> dict:
    """Poll the server's health URL until 200, as lifecycle.wait_healthy does from the host.

    With ``url_from_stdin`` the job starts before the server does: it says ``ready``, then waits
    for the server's address on stdin (labctl sends it the moment the engine has started the
    server), so the poll begins within milliseconds of the start, not after this container's
    own start-up. ``elapsed_s`` counts from the address's arrival to the first 200.
    """
    import httpx

    # The client is made, and its request path run once, before the clock starts: in a fresh
    # process that costs tens of milliseconds (the TLS context, httpcore's lazy imports), which
    # a cold start must not include. labctl's own process pays it long before it polls.
    with httpx.Client(timeout=httpx.Timeout(2.0, connect=0.5), trust_env=False) as client:
        try:
            client.get("http://127.0.0.1:1/")    # nothing listens in this container: refused
        except httpx.TransportError:
            pass
        if job.get("url_from_stdin"):
            sys.stdout.write(READY_LINE + "\n")
            sys.stdout.flush()
            job["url"] = sys.stdin.readline().strip()
            if not job["url"]:
                return {"healthy": False, "attempts": 0, "problem": "no address was sent"}
        return _poll_health(client, job)


def _poll_health(client, job: dict) -> dict:
    """Poll ``job["url"]`` with ``client`` until 200 or the job's timeout."""
    import httpx

    received = time.monotonic()
    deadline = received + float(job.get("timeout_s", 60))
    attempts, last_problem = 0, "no answer yet"
    while time.monotonic() < deadline:
        attempts += 1
        try:
            response = client.get(job["url"], headers={"Connection": "close"})
            if response.status_code == 200:
                return {"healthy": True, "at_wall": time.time(), "attempts": attempts,
                        "elapsed_s": time.monotonic() - received}
            last_problem = f"it answered {response.status_code}"
        except httpx.TransportError as exc:
            last_problem = type(exc).__name__
        time.sleep(HEALTH_POLL_S)
    return {"healthy": False, "attempts": attempts, "problem": last_problem}


def verify(job: dict) -> dict:
    from labctl.measure import verify as checks

    answers = {}
    for name, target in job["servers"].items():
        # The two fields verify_responses reads; the servers' files are not in this image.
        server: Any = SimpleNamespace(name=name, greeting=target["greeting"])
        verification = checks.verify_responses(server, target["url"])
        first = verification._first_date
        answers[name] = {
            "verification": verification.as_dict(),
            # When the first Date was seen, on the engine's clock, for the later Date check.
            "first_date": [time.time() - (time.monotonic() - first[0]), first[1]] if first else None,
        }
    return {"servers": answers}


def measure(job: dict) -> dict:
    from labctl.measure import oneshot, probe
    from labctl.measure import sampling as timing
    from labctl.measure import verify as checks

    plan = job.get("one_shot")
    # The curl series between the rounds, as the host's client takes it (clients.HereClient).
    curl = (oneshot.Interleaved(job["targets"], tuple(job["paths"]),
                                samples=int(plan["samples"]), warmup=int(plan["warmup"]),
                                where="in the probe image") if plan else None)
    results = timing.measure(job["targets"], samples=int(job["samples"]),
                             warmup=int(job["warmup"]), paths=tuple(job["paths"]),
                             modes=tuple(job["modes"]), block=int(job.get("block", 1)),
                             on_round=curl.after_round if curl else None)
    dates = {}
    for name, first in (job.get("dates") or {}).items():
        wall, date = first["first_date"]
        server = SimpleNamespace(name=name, greeting="")
        verification = checks.Verification(server=name)
        # Re-express the engine wall time as this process's monotonic time.
        verification._first_date = (time.monotonic() - (time.time() - wall), date)
        checks.verify_date_changes(verification, first["url"])
        dates[name] = [c.as_dict() for c in verification.checks]
        del server
    return {
        "results": {name: {path: {mode: series.as_dict() for mode, series in by_mode.items()}
                           for path, by_mode in by_path.items()}
                    for name, by_path in results.items()},
        "dates": dates,
        "libcurl": probe.libcurl_version(),
        **({"one_shot": curl.finish().as_dict(int(plan["samples"]), int(plan["warmup"]))}
           if curl and plan else {}),
    }


JOBS = {"health": health, "verify": verify, "measure": measure}


def main(argv: list[str]) -> int:
    from labctl.errors import LabctlError

    try:
        job = json.loads(argv[1])
        answer = JOBS[job["job"]](job)
        document = {"schema": AGENT_SCHEMA, "ok": True, **answer}
        status = 0
    except LabctlError as error:
        document = {"schema": AGENT_SCHEMA, "ok": False, "error": error.message,
                    "hint": error.hint}
        status = 1
    except (IndexError, KeyError, ValueError) as error:
        document = {"schema": AGENT_SCHEMA, "ok": False, "error": f"bad job: {error!r}",
                    "hint": "labctl and its probe image disagree; run with --rebuild"}
        status = 2
    sys.stdout.write(json.dumps(document) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
