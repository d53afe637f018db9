"""The labctl command line: thin Typer commands that call into the modules that do the work.

Errors: every command may raise ``LabctlError``; ``LabctlGroup.invoke`` turns it into one line on
stderr and the error's exit status, with a traceback only under ``--debug`` (or LABCTL_DEBUG=1).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from labctl import __version__, ui
from labctl.errors import LabctlError


def _debug_enabled(ctx: typer.Context | None) -> bool:
    if os.environ.get("LABCTL_DEBUG") == "1":
        return True
    return bool(ctx and isinstance(ctx.obj, dict) and ctx.obj.get("debug"))


def report_error(error: LabctlError, *, debug: bool) -> None:
    if debug:
        ui.err().print(traceback.format_exc(), markup=False, highlight=False)
    ui.error_line(error.one_line())
    if error.details:
        ui.err().print(error.details, markup=False, highlight=False)


class LabctlGroup(TyperGroup):
    """The root group: the single place where failures become one line and an exit status."""

    def invoke(self, ctx) -> Any:  # ctx: Click's Context (Typer vendors its own Click)
        try:
            return super().invoke(ctx)
        except LabctlError as error:
            report_error(error, debug=_debug_enabled(ctx))
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            # The runtimes have already cleaned up in their own finally blocks by now.
            ui.err().print("interrupted: everything labctl started was stopped and removed")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=LabctlGroup,
    name="labctl",
    help="Run, measure and compare one minimal HTTP server written in Go, Python, Rust and Node.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        ui.out().print(f"labctl {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print labctl's version and exit.")] = False,
) -> None:
    """labctl: hands-on labs for how HTTP servers really behave."""
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is not None:
        return
    if sys.stdin.isatty() and sys.stdout.isatty():
        from labctl.commands import learn

        learn.interactive_menu()
    else:
        ui.out().print(ctx.get_help())


def _register_commands() -> None:
    from labctl.commands import (
        compare_cmd,
        doctor_cmd,
        lab_cmd,
        learn,
        load_cmd,
        report_cmd,
        results_cmd,
        servers_cmd,
    )

    servers_cmd.register(app)
    compare_cmd.register(app)
    results_cmd.register(app)
    doctor_cmd.register(app)
    load_cmd.register(app)
    lab_cmd.register(app)
    report_cmd.register(app)
    learn.register(app)


_register_commands()


def main() -> None:
    app()
