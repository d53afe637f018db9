"""`labctl report`: draw saved compare results as one self-contained HTML page."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from labctl import ui
from labctl.errors import EnvironmentProblem, UsageProblem

DEFAULT_REPORT = Path("labctl-report.html")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


def report_command(
    result_ids: Annotated[Optional[list[str]], typer.Argument(
        show_default=False,
        help="Saved compare (or overload lab) results to draw (ids or unique prefixes, see "
             "labctl results); several are put side by side. Default: the latest compare.")] = None,
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Where to write the HTML page.")] = DEFAULT_REPORT,
    open_it: Annotated[bool, typer.Option(
        "--open", help="Open the page in the web browser.")] = False,
) -> None:
    """Write an HTML report: table, percentile plots, histograms and bars of saved compare runs."""
    from labctl.results import store

    documents = [store.load_result(ref) for ref in result_ids] if result_ids \
        else [latest_compare()]
    with store.shown("a saved result to draw"):
        path = write_report(documents, output)
    ui.info(f"report written to {path}")
    if open_it:
        open_in_browser(path)


def latest_compare() -> dict:
    from labctl.results import store

    for entry in store.list_results():
        if entry["kind"] == "compare":
            return entry["document"]
    raise UsageProblem("no saved compare result to draw", "Run labctl compare first")


def write_report(documents: list[dict], output: Path) -> Path:
    """Draw ``documents`` and write the page atomically; returns its absolute path."""
    from labctl.fileio import atomic_write_text
    from labctl.results import flamegraph, report

    # A saved profile lab draws as its flame graphs; compare runs as the comparison page.
    build = (flamegraph.build_profile_report
             if any(flamegraph.is_profile(document) for document in documents)
             else report.build_report)
    page = build(documents)
    if output.is_dir():
        raise UsageProblem(f"{output} is a directory", "Give a file name, e.g. -o report.html")
    try:
        atomic_write_text(output, page)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {output}: {exc.strerror or exc}",
                                 "Choose another place with -o FILE") from None
    return output.resolve()


def open_in_browser(path: Path) -> None:
    import webbrowser

    if not webbrowser.open(path.as_uri()):
        ui.warn(f"no web browser could be started; open {path} by hand")
