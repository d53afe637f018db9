"""Commands about the four servers themselves: list, run, logs, down."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
