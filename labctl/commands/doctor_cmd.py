"""`labctl doctor`."""

import typer

from labctl import ui
from labctl.commands.options import JsonOption
from labctl.errors import EnvironmentProblem


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command(json_out: JsonOption = False) -> None:
    """Check Docker, the toolchains, the load generator and disk; say how to fix what is missing."""
    from labctl import doctor
    from labctl.results import render

    result = doctor.report()
    if json_out:
        ui.print_json_document(result)
    else:
        ui.out().print(render.render_doctor(result))
    if not result["anything_runs"]:
        raise EnvironmentProblem("nothing can run here: no Docker engine and no toolchain",
                                 "Install Docker, or Go/Rust/Node for the local runtime "
                                 "(details above)")
