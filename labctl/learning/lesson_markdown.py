"""A lesson's Markdown for the terminal: Rich's, with its tables in the results/layout.py
shapes, so a lesson's table at 80 columns changes shape (one block per row) instead of cutting
its cells to "non-bloc…"."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown, TableElement

from labctl.results.layout import Cell, Column, Fit


class _FittingTable(TableElement):
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        headers = ([cell.content.plain for cell in self.header.row.cells]
                   if self.header is not None and self.header.row is not None else [])
        rows: list[list[Cell]] = [[cell.content for cell in row.cells]
                                  for row in (self.body.rows if self.body is not None else [])]
        width = max([len(headers), *(len(row) for row in rows)], default=0)
        headers += [""] * (width - len(headers))
        rows = [row + [""] * (width - len(row)) for row in rows]
        # The first column names the row (a lesson's tables are written that way).
        yield Fit([Column(header, key=index == 0) for index, header in enumerate(headers)], rows)


class LessonMarkdown(Markdown):
    elements = {**Markdown.elements, "table_open": _FittingTable}
