"""All terminal output goes through the two consoles here.

Rich already turns colour off when NO_COLOR is set or the stream is not a terminal; stdout is
reserved for results (and for ``--json`` documents, which are printed with ``print_json_document``
and nothing else), everything else goes to stderr.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from rich.console import Console
    from rich.theme import Theme

# Styles chosen to stay readable on dark and light terminal themes alike: no dim grey text, no
# yellow-on-white; meaning is carried by words ("pass", "warn") as well as colour.
STYLES = {
    "ok": "bold green",
    "warn": "bold magenta",
    "fail": "bold red",
    "label": "bold",
    "muted": "italic",
    "cmd": "bold cyan",
    "figure": "bold",
}

_width = int(os.environ["LABCTL_WIDTH"]) if os.environ.get("LABCTL_WIDTH", "").isdigit() else None

# The theme and the two consoles, made on first use (``__getattr__`` below): importing
# rich.console takes some 15 ms, and `labctl --help` prints without Rich.
THEME: Theme
console: Console
err_console: Console


class _Consoles(NamedTuple):
    THEME: Theme
    console: Console
    err_console: Console


@cache
def _consoles() -> _Consoles:
    from rich.console import Console
    from rich.theme import Theme

    theme = Theme(STYLES)
    # Neither console is given a file: Rich then writes to whatever sys.stdout / sys.stderr is at
    # the time of printing, which is what Typer's CliRunner and pytest's capsys rely on.
    return _Consoles(THEME=theme, console=Console(theme=theme, highlight=False, width=_width),
                     err_console=Console(theme=theme, stderr=True, highlight=False, width=_width))


def __getattr__(name: str) -> Any:
    if name in _Consoles._fields:
        return getattr(_consoles(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def out() -> Console:
    return _consoles().console


# Set by the root command's --debug: extra detail on stderr (tracebacks, where the time went).
debug_requested = False


def err() -> Console:
    return _consoles().err_console


def info(message: str) -> None:
    """A progress or context line for a person: stderr, so stdout stays clean for results."""
    err().print(message)


def warn(message: str) -> None:
    from rich.markup import escape

    # The message is text, not markup: "pip install 'labctl[report]'" must keep its brackets.
    err().print(f"[warn]warning:[/warn] {escape(message)}")


def error_line(message: str) -> None:
    from rich.markup import escape

    err().print(f"[fail]error:[/fail] {escape(message)}", soft_wrap=True)


def print_json_document(document: Any) -> None:
    """Print one JSON document on stdout, bypassing Rich so nothing but the JSON is written."""
    import json

    print(json.dumps(document, indent=2, ensure_ascii=False))


class _ClockProgress:
    """A bar on stderr that fills with wall-clock time (what a fixed-length load run has)."""

    def __init__(self, title: str, seconds: float) -> None:
        self.title = title
        self.seconds = max(seconds, 0.001)

    def __enter__(self) -> _ClockProgress:
        import threading
        import time

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
            TextColumn(f"of {self.seconds:g} s"), console=err(), transient=True)
        self._task = self._progress.add_task(self.title, total=self.seconds)
        self._stop = threading.Event()
        started = time.monotonic()

        def tick() -> None:
            while not self._stop.wait(0.2):
                self._progress.update(self._task,
                                      completed=min(time.monotonic() - started, self.seconds))

        self._progress.start()
        self._thread = threading.Thread(target=tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._progress.stop()


def timed_progress(title: str, seconds: float):
    """Live progress of a run that lasts ``seconds``: a bar in a terminal, one line otherwise."""
    if err().is_terminal:
        return _ClockProgress(title, seconds)
    return err().status(title)
