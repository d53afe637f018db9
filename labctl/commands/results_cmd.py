"""`labctl results`: list, show and diff saved compare and load runs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from labctl import ui
from labctl.commands.options import JsonOption

results_app = typer.Typer(help="Saved compare and load results: list, show, diff.",
                          no_args_is_help=False)


def register(app: typer.Typer) -> None:
    app.add_typer(results_app, name="results")


@results_app.callback(invoke_without_command=True)
def list_results(
    ctx: typer.Context,
    json_out: JsonOption = False,
) -> None:
    """List saved results, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from labctl import store

    entries = store.list_results()
    if json_out:
        ui.print_json_document({"schema": "labctl.results/1", "results": [
            {k: v for k, v in e.items() if k != "document"} for e in entries]})
        return
    if not entries:
        ui.out().print("No saved results yet. `labctl compare` or `labctl load` saves one.")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "kind", "created", "runtime", "servers"):
        table.add_column(column)
    for entry in entries:
        table.add_row(entry["id"], entry["kind"], entry.get("created", "?"),
                      entry.get("runtime", "?"), ", ".join(entry.get("servers", [])))
    ui.out().print(table)
    ui.info(f"results are kept in {store.results_dir()}")


@results_app.command("show")
def show(
    result_id: Annotated[str, typer.Argument(
        help="An id, a unique prefix of one, or 'latest'.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the stored JSON document.")] = False,
) -> None:
    """Show one saved result as it was printed when it ran."""
    from labctl import render, store

    document = store.load_result(result_id)
    if json_out:
        ui.print_json_document(document)
        return
    schema = document.get("schema", "")
    if schema.startswith("labctl.compare/"):
        ui.out().print(render.render_compare(document))
    elif schema.startswith("labctl.load/"):
        from labctl.commands.load_cmd import render_load

        ui.out().print(render_load(document))
    elif schema.startswith("labctl.lab.bottleneck/"):
        from labctl.commands.lab_cmd import render as render_lab

        render_lab(document)
    elif schema.startswith("labctl.run/"):
        ui.out().print(render.render_run(document))
    else:
        ui.print_json_document(document)


@results_app.command("diff")
def diff(
    first: Annotated[str, typer.Argument(help="The earlier result (id, prefix or 'latest').",
                                         show_default=False)],
    second: Annotated[str, typer.Argument(help="The later result.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
) -> None:
    """What changed between two results: conditions first, then the figures."""
    from labctl import render, resultdiff, store

    a, b = store.load_result(first), store.load_result(second)
    changes = resultdiff.diff(a, b)
    if json_out:
        ui.print_json_document({"schema": "labctl.diff/1", **changes})
        return
    out = ui.out()
    out.print(Text.assemble(("Differences", "label"), f" from {changes['a']} to {changes['b']}"))
    for warning in changes["warnings"]:
        ui.warn(warning)
    if changes["context"]:
        out.print(Text("Conditions that changed:", style="label"))
        for item in changes["context"]:
            out.print(f"  {item['what']}: {item['a']} → {item['b']}", markup=False)
    else:
        out.print("Same conditions: runtime, machine, limits, versions and parameters.")
    if changes["latency"]:
        table = Table(show_edge=False, pad_edge=False, title="median latency",
                      title_justify="left")
        for column in ("server", "path", "connection", "p50 before", "p50 after", "change",
                       "beyond noise?"):
            table.add_column(column, justify="right" if column.startswith(("p50", "ch")) else "left")
        for row in changes["latency"]:
            pct = row["p50_change_pct"]
            table.add_row(row["server"], row["path"], row["connection"],
                          render.fmt_us(row["p50_a"]), render.fmt_us(row["p50_b"]),
                          "–" if pct is None else f"{pct:+.1f}%",
                          Text("yes", style="warn") if row["beyond_noise"] else "no (noise)")
        out.print(table)
    for row in changes["load"]:
        out.print(f"  {row['server']}: {row['rps_a']:,.0f} → {row['rps_b']:,.0f} requests/s "
                  f"({row['rps_change_pct']:+.1f}%)")
    if changes["only_in_one"]:
        out.print("Only in one of them: " + ", ".join(changes["only_in_one"]))
