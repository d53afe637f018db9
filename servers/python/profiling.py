"""Lesson 010's switch: PROFILE=on adds py-spy at GET /debug/py-spy?seconds=N.

py-spy is a sampling profiler that reads the interpreter's memory from
outside the process (it needs ptrace rights on it), so the server's code
runs unchanged. Here the server starts py-spy on itself: it samples every
thread's Python stack 100 times a second for N seconds and the answer is
py-spy's raw output, one folded stack per line, which flamegraph.pl and
speedscope read. Off (the route is absent) as shipped: a profile shows the
server's code paths to anyone who asks."""

import asyncio
import ctypes
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

RATE_HZ = 100
MAX_SECONDS = 30
PY_SPY = Path(sysconfig.get_path("scripts")) / "py-spy"
# Yama (on Ubuntu's default ptrace_scope=1) lets only a process's ancestors
# trace it; py-spy runs as our child, so let it. No-op without Yama.
PR_SET_PTRACER, PR_SET_PTRACER_ANY = 0x59616D61, ctypes.c_ulong(-1)


def routes() -> APIRouter:
    """GET /debug/py-spy, for app.include_router; empty unless PROFILE=on."""
    router = APIRouter()
    if os.environ.get("PROFILE") != "on":
        return router
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0)
    router.add_api_route("/debug/py-spy", py_spy, response_class=PlainTextResponse)
    return router


async def py_spy(seconds: int = Query(5, ge=1, le=MAX_SECONDS)) -> str:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "profile.txt"
        process = subprocess.Popen(
            [PY_SPY, "record", "--pid", str(os.getpid()), "--rate", str(RATE_HZ),
             "--duration", str(seconds), "--format", "raw", "--output", output],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Polled, not waited for: the event loop keeps serving meanwhile, and
        # no helper thread sits in the profile waiting for py-spy.
        while process.poll() is None:
            await asyncio.sleep(0.1)
        log = process.stdout.read().decode(errors="replace") if process.stdout else ""
        if process.returncode != 0 or not output.exists():
            raise HTTPException(500, f"py-spy failed (exit {process.returncode}): "
                                     f"{log.strip()[-300:]}")
        return output.read_text()
