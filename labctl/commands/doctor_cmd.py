"""`labctl doctor`."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from labctl import ui
from labctl.commands.options import JsonOption
from labctl.errors import EnvironmentProblem


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command(json_out: JsonOption = False) -> None:
    """Check Docker, the toolchains, the load generator and disk; say how to fix what is missing."""
    from labctl import doctor

    style = {doctor.OK: "ok", doctor.WARN: "warn", doctor.MISSING: "fail"}
    result = doctor.report()
    if json_out:
        ui.print_json_document(result)
    else:
        out = ui.out()
        for section, items in result["sections"].items():
            table = Table(title=section, title_justify="left", show_edge=False, pad_edge=False,
                          show_header=False)
            table.add_column(no_wrap=True)
            table.add_column(no_wrap=True)
            table.add_column()
            for item in items:
                detail = Text(item["detail"])
                if item["fix"]:
                    detail.append("\n→ " + item["fix"], style="cmd")
                table.add_row(Text(item["status"], style=style[item["status"]]), item["name"],
                              detail)
            out.print(table)
            out.print()
        can = result["can_run"]
        out.print(Text.assemble(
            ("Can run: ", "label"),
            f"docker: {', '.join(can['docker']) or 'nothing'}; "
            f"local: {', '.join(can['local']) or 'nothing'}. "
            f"--runtime auto would use {result['auto_would_use']}."))
    if not result["anything_runs"]:
        raise EnvironmentProblem("nothing can run here: no Docker engine and no toolchain",
                                 "Install Docker, or Go/Rust/Node for the local runtime "
                                 "(details above)")
