"""The labctl command line: thin Typer commands that call into the modules that do the work.

Errors: every command may raise ``LabctlError``; ``LabctlGroup.invoke`` turns it into one line on
stderr and the error's exit status, with a traceback only under ``--debug`` (or LABCTL_DEBUG=1).

No ``from __future__ import annotations`` here nor in the command modules: Typer reads the
commands' annotations to print even --help (labctl/commands/__init__.py says why).
"""

import os
import sys
import traceback
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from labctl import __version__, ui
from labctl.commands.group import CommandGroup
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


def report_usage_error(error: UsageError) -> None:
    """Click's own usage errors (a wrong type, a value out of range, a missing argument, an
    unknown option) as one line like every other error, instead of a usage block and a box."""
    where = error.ctx.command_path if error.ctx is not None else "labctl"
    message = error.format_message().strip().rstrip(".")
    ui.error_line(f"{message}{' ' if message.endswith('?') else '. '}See: {where} --help")


def print_help_for_no_arguments(error: NoArgsIsHelpError) -> NoReturn:
    """`labctl lab` alone: the group's help is the answer, on stdout (Click would write it to
    stderr), with Click's exit status for a command line that names no command."""
    typer.echo(error.format_message())
    raise typer.Exit(error.exit_code)


ASKS_FOR_HELP = "labctl.asks_for_help"


class LabctlGroup(CommandGroup):
    """The root group: the single place where failures become one line and an exit status."""

    def make_context(self, info_name, args, parent=None, **extra):
        # The root's own options (labctl --bogus) are parsed here, before ``invoke``.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError as error:
            print_help_for_no_arguments(error)
        except UsageError as error:
            report_usage_error(error)
            raise typer.Exit(error.exit_code) from None

    def invoke(self, ctx) -> Any:  # ctx: Click's Context (Typer vendors its own Click)
        # The root callback runs before the subcommand's arguments are parsed, and Click has
        # taken them off the context by then: note a --help for it here.
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        ctx.meta[ASKS_FOR_HELP] = any(arg in ("--help", "-h") for arg in rest)
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError as error:
            print_help_for_no_arguments(error)
        except UsageError as error:
            report_usage_error(error)
            raise typer.Exit(error.exit_code) from None
        except typer.Abort:
            # A yes/no question (exercise reset) met the end of its input or Ctrl-C; the cursor
            # is still on the question's line.
            ui.err().print()
            ui.error_line("the question got no answer (end of input or Ctrl-C)")
            raise typer.Exit(1) from None
        except LabctlError as error:
            report_error(error, debug=_debug_enabled(ctx))
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            # A file or device problem no command anticipated (a name too long, an I/O error):
            # still one line and exit 2; --debug shows where it came from.
            if _debug_enabled(ctx):
                ui.err().print(traceback.format_exc(), markup=False, highlight=False)
            where = f": {error.filename}" if getattr(error, "filename", None) else ""
            ui.error_line(f"{error.strerror or error}{where}"[:300])
            raise typer.Exit(2) from None
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
    # Click's plain help, not Typer's Rich panels: see labctl/commands/group.py.
    rich_markup_mode=None,
    # Help as wide as the terminal up to 120 columns (Click's default stops at 80).
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
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
    context: Annotated[Optional[str], typer.Option(
        "--context", metavar="NAME",
        help="Docker context to use, as `docker --context` (wins over DOCKER_HOST). On an "
             "engine elsewhere labctl measures from a container next to the servers.")] = None,
) -> None:
    """labctl: hands-on labs for how HTTP servers really behave."""
    ctx.obj = {"debug": debug}
    ui.debug_requested = debug
    if context:
        from labctl.runtime import engine

        try:
            engine.use_context(context)
        except LabctlError as error:
            report_error(error, debug=debug)
            raise typer.Exit(error.exit_code) from None
    if ctx.invoked_subcommand is not None:
        from labctl.runtime import reaper

        # `labctl run --help` only prints: it must not remove anything.
        asks_for_help = ctx.meta.get(ASKS_FOR_HELP, False)
        if (ctx.invoked_subcommand not in reaper.LEARNING_COMMANDS and not ctx.resilient_parsing
                and not asks_for_help):
            # One place for every command that touches servers: remove what a killed labctl left.
            reaper.reap_everywhere(announce=ui.info)
        return
    if sys.stdin.isatty() and sys.stdout.isatty():
        from labctl.commands import learn

        learn.interactive_menu()
    else:
        typer.echo(ctx.get_help())


def _register_commands() -> None:
    from labctl.commands import (
        compare_cmd,
        doctor_cmd,
        exercise_cmd,
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
    exercise_cmd.register(app)
    report_cmd.register(app)
    learn.register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        # Ctrl-C before a command started (while Python imported labctl, or parsed its options):
        # nothing to clean up, and no traceback.
        sys.exit(130)
