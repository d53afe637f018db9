"""`labctl results`: list, show and diff saved compare and load runs."""

from typing import Annotated

import typer

from labctl import ui
from labctl.commands.group import command_group
from labctl.commands.options import JsonOption

results_app = command_group(help="Saved compare and load results: list, show, diff.",
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
    from labctl.results import render, store

    entries = store.list_results()
    document = store.listing(entries)
    if json_out:
        ui.print_json_document(document)
        return
    if not entries:
        ui.out().print("No saved results yet. `labctl compare` or `labctl load` saves one.")
        return
    ui.out().print(render.render_results(document))
    ui.info(f"results are kept in {store.results_dir()}")


@results_app.command("show")
def show(
    result_id: Annotated[str, typer.Argument(
        help="An id, a unique prefix of one, or 'latest'.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the stored JSON document.")] = False,
) -> None:
    """Show one saved result as it was printed when it ran."""
    from labctl.results import render, store

    document = store.load_result(result_id)
    if json_out:
        ui.print_json_document(document)
        return
    render_document = render.renderer_for(document)
    if render_document is None:   # a schema this labctl does not know: the document as it is
        ui.print_json_document(document)
        return
    with store.shown(f"saved result '{result_id}'"):
        view = render_document(document)
    ui.out().print(view)


@results_app.command("diff")
def diff(
    first: Annotated[str, typer.Argument(help="The earlier result (id, prefix or 'latest').",
                                         show_default=False)],
    second: Annotated[str, typer.Argument(help="The later result.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
) -> None:
    """What changed between two results: conditions first, then the figures."""
    from labctl.results import diff as resultdiff
    from labctl.results import render, store

    a, b = store.load_result(first), store.load_result(second)
    with store.shown(f"saved result '{first}' or '{second}'"):
        changes = resultdiff.diff(a, b)
    if json_out:
        ui.print_json_document(changes)
        return
    for warning in changes["warnings"]:
        ui.warn(warning)
    ui.out().print(render.render_diff(changes))
