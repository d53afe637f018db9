"""Headless Chromium as a person's eyes: load a page from a file, read back what it rendered.

Chromium prints the DOM after its scripts ran (``--dump-dom``) and, with logging on stderr, every
console message; a screenshot is what the learner would see. Debian's ``chromium`` package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_or_skip() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium is not installed (Debian: apt-get install chromium)"
    if os.environ.get("LABCTL_REQUIRE_DOCKER") == "1":
        pytest.fail(f"LABCTL_REQUIRE_DOCKER=1 but {message}", pytrace=False)
    pytest.skip(message)


@dataclass
class Rendered:
    dom: str
    console_errors: list[str]


def _base_args(chromium: str) -> list[str]:
    # --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--virtual-time-budget=15000", "--enable-logging=stderr", "--v=0",
            # No network: a page that needed one would fail to draw here.
            "--host-resolver-rules=MAP * ~NOTFOUND"]


def render(page: Path, chromium: str) -> Rendered:
    """The DOM after the page's scripts ran, and the console errors they raised."""
    result = subprocess.run(_base_args(chromium) + ["--dump-dom", page.resolve().as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return Rendered(dom=result.stdout, console_errors=console_errors(result.stderr))


def screenshot(page: Path, chromium: str, picture: Path, height: int = 3000) -> Path:
    subprocess.run(_base_args(chromium) + [f"--screenshot={picture}",
                                           f"--window-size=1280,{height}", page.resolve().as_uri()],
                   capture_output=True, text=True, timeout=120, check=True)
    return picture


_CONSOLE = re.compile(r":CONSOLE\(\d+\)\] (.*)|Uncaught .*")


def console_errors(log: str) -> list[str]:
    """Console lines that report a script error (Chromium logs every console message)."""
    found = []
    for line in log.splitlines():
        match = _CONSOLE.search(line)
        if match and ("Uncaught" in line or "Error" in line or ":ERROR:CONSOLE" in line):
            found.append(line.strip())
    return found


def rendered_charts(dom: str) -> dict[str, tuple[int, int, int]]:
    """chart index → (width, height, traces drawn) of each plotly chart in a rendered DOM."""
    charts = {}
    pieces = re.split(r'<figure class="chart" data-chart="(\d+)">', dom)
    for index, body in zip(pieces[1::2], pieces[2::2]):
        body = body.split("</figure>", 1)[0]
        size = re.search(r'<svg class="main-svg"[^>]*width="(\d+)" height="(\d+)"', body)
        width, height = (int(size.group(1)), int(size.group(2))) if size else (0, 0)
        traces = len(re.findall(r'class="trace ', body))
        charts[index] = (width, height, traces)
    return charts


def artifacts_dir(fallback: Path) -> Path:
    """Where a test leaves pictures for a person to look at (LABCTL_TEST_ARTIFACTS or tmp)."""
    configured = os.environ.get("LABCTL_TEST_ARTIFACTS")
    folder = Path(configured) if configured else fallback
    folder.mkdir(parents=True, exist_ok=True)
    return folder
