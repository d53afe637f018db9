"""Lessons, prompts and the quiz (being written)."""

import typer


def register(app: typer.Typer) -> None:
    return None


def interactive_menu() -> None:
    return None
