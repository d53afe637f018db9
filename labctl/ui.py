"""All terminal output goes through the two consoles here.

Rich already turns colour off when NO_COLOR is set or the stream is not a terminal; stdout is
reserved for results (and for ``--json`` documents, which are printed with ``print_json_document``
and nothing else), everything else goes to stderr.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.theme import Theme

# Styles chosen to stay readable on dark and light terminal themes alike: no dim grey text, no
# yellow-on-white; meaning is carried by words ("pass", "warn") as well as colour.
THEME = Theme({
    "ok": "bold green",
    "warn": "bold magenta",
    "fail": "bold red",
    "label": "bold",
    "muted": "italic",
    "cmd": "bold cyan",
    "figure": "bold",
})

_width = int(os.environ["LABCTL_WIDTH"]) if os.environ.get("LABCTL_WIDTH", "").isdigit() else None

# Neither console is given a file: Rich then writes to whatever sys.stdout / sys.stderr is at the
# time of printing, which is what Typer's CliRunner and pytest's capsys rely on.
console = Console(theme=THEME, highlight=False, width=_width)
err_console = Console(theme=THEME, stderr=True, highlight=False, width=_width)


def out() -> Console:
    return console


def err() -> Console:
    return err_console


def info(message: str) -> None:
    """A progress or context line for a person: stderr, so stdout stays clean for results."""
    err_console.print(message)


def warn(message: str) -> None:
    err_console.print(f"[warn]warning:[/warn] {message}")


def error_line(message: str) -> None:
    err_console.print(f"[fail]error:[/fail] {message}", soft_wrap=True)


def print_json_document(document: Any) -> None:
    """Print one JSON document on stdout, bypassing Rich so nothing but the JSON is written."""
    print(json.dumps(document, indent=2, ensure_ascii=False))
