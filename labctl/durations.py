"""Durations as people type them on the command line ("10s", "500ms", "1m") and as labctl
prints them."""

from __future__ import annotations

import re

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# No lab needs longer; above this a typo (10000h) is more likely than a wish.
MAX_DURATION_S = 24 * 3600.0


def parse_duration(text: str) -> float:
    """Seconds from "10s", "500ms", "1m", "1.5s" or plain seconds ("10"). ValueError otherwise."""
    match = _DURATION_RE.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 10s, 500ms, 1m or 10)")
    unit = match.group(2).lower() if match.group(2) else None
    seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if seconds <= 0:
        raise ValueError(f"the duration must be more than 0 (got {text!r})")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"the duration must be at most 24h (got {text!r})")
    return seconds


def duration_option(text: str, option: str, *, zero_ok: bool = False) -> float:
    """``parse_duration`` for a command-line option: a bad value is a one-line usage error.

    Commands call it before anything starts, so a typo never costs a build."""
    from labctl.errors import UsageProblem

    if zero_ok and str(text).strip().lower() in ("0", "0s", "0ms", "none", "off"):
        return 0.0
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    return f"{seconds:g} s"
