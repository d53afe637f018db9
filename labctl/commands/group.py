"""The group class of labctl and of its command groups: how a list of commands reads in --help.

Help is printed by Click's plain formatter (``rich_markup_mode=None``): Typer's Rich panels
(typer.rich_utils, which loads a Markdown parser too) took about 50 ms of a 0.17 s
``labctl --help``. Click's formatter cuts each
command's summary with "..." to fit one line; labctl's summaries are one sentence that says
what the command does, so here the whole first paragraph is shown, wrapped under the name.

Click rewraps every paragraph of a help text to the terminal; one that must keep its lines (a
list) starts with a line holding only ``\b``, Click's mark for that. Text is shown as written:
no Rich markup, no Markdown.
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click import Command, Context, HelpFormatter
from typer.core import TyperGroup


def summary(command: Command) -> str:
    """The command's ``short_help``, else the first paragraph of its help, on one line."""
    text = command.short_help or command.help or ""
    return " ".join(text.strip().split("\n\n")[0].split())


class CommandGroup(TyperGroup):
    """A Typer group whose command list shows each summary whole, wrapped to the terminal."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_group(**settings: Any) -> typer.Typer:
    """A Typer app for a group of labctl's commands (``labctl lab``, ``labctl results``...).

    Typer hands the root's ``rich_markup_mode`` down to the groups added to it; it is set here
    as well so that a group reads the same wherever it is run from."""
    return typer.Typer(cls=CommandGroup, rich_markup_mode=None, **settings)
