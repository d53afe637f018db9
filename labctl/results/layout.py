"""Tables that fit the terminal: 80 columns without a cut header, a cut id or a wrapped cell, and
the space used at 120 and more.

A renderer describes its table once, as ``Column``s and rows, and hands it to ``Fit``; ``Fit``
picks the first shape that fits the width it is printed at (a real terminal, ``LABCTL_WIDTH``, or
``Console(width=N)`` in the tests):

1. every column side by side, no cell wrapped (but a ``wrap`` column's, a list of names, which
   may take two lines);
2. the same without the ``optional`` columns, dropped one at a time from the last declared (a
   column is optional only when what it says is printed elsewhere too, e.g. the edge-cases
   lab's request names in its numbered list, or matters less, e.g. when a result was made);
3. one table per ``group`` of columns, each repeating the ``key`` columns that name the row
   (the slow-clients lab: the trickling connections, then the normal client);
4. stacked: one block per row, its key as a heading and one "header  value" line per column.

Nothing is ever cropped: a cell is ``no_wrap`` in the table shapes, and when the table would be
wider than the terminal the shape changes instead. A lab renderer therefore

- gives every column a SHORT header (a second line with ``\\n`` is fine: "cut after\\n(median)")
  and says the long meaning once in a ``legend`` line below the table;
- keeps each cell short: a figure with its unit, a few words ("408 ×20", "closed ×3");
- marks a measured cell that differs from the lesson's prediction with ``differs(text)`` (" *"),
  and keeps the prediction in a column (or row) of its own next to the measurement;
- puts the rows' prose (why each row matters, what a step means) below the table, in
  ``Numbered`` paragraphs keyed by the row's label, not in a cell.

``tests/test_terminal_width.py`` renders every renderer at 80, 100 and 140 columns and fails on
a cut header, a cut id or a cell over two lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

Cell = str | Text

# Wide enough that measuring a table never caps it: Fit wants its natural width.
_UNBOUNDED = 10_000


@dataclass(frozen=True)
class Column:
    header: str
    justify: JustifyMethod = "left"
    key: bool = False        # names the row: repeated in every part, the heading of a block
    group: str = ""          # columns of one group stay side by side when the table splits
    optional: bool = False   # dropped first; only for what the renderer prints elsewhere too
    wrap: bool = False       # a list of names that may take two lines (one such column a table)


class Fit:
    """A table that changes shape to fit the width it is printed at (see the module doc)."""

    def __init__(self, columns: Sequence[Column], rows: Iterable[Sequence[Cell]], *,
                 title: str | None = None, group_titles: dict[str, str] | None = None) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row has {len(row)} cells for {len(self.columns)} columns")
        self.title = title
        self.group_titles = group_titles or {}

    # -- the shapes, widest first ---------------------------------------------------------------

    def _table(self, indexes: list[int], title: str | None) -> Table:
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False,
                      title_style="label")
        for index in indexes:
            column = self.columns[index]
            table.add_column(column.header, justify=column.justify, no_wrap=not column.wrap)
        for row in self.rows:
            table.add_row(*(_text(row[index]) for index in indexes))
        return table

    def _stacked(self) -> list[RenderableType]:
        keys = [i for i, c in enumerate(self.columns) if c.key]
        values = [i for i, c in enumerate(self.columns) if not c.key]
        blocks: list[RenderableType] = []
        if self.title:
            blocks.append(Text(self.title, style="label"))
        for row in self.rows:
            heading = Text(" · ", style="label").join(
                _text(row[i]).copy() for i in keys) if keys else Text("")
            heading.stylize("label")
            grid = Table.grid(padding=(0, 2))
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")    # a long word breaks, never ends in "…"
            for index in values:
                grid.add_row(Text(" ".join(self.columns[index].header.split())), _text(row[index]))
            blocks += [heading, Padding(grid, (0, 0, 0, 2))]
        return blocks

    def _fits(self, console: Console, table: Table, shown: list[int], width: int) -> bool:
        """Side by side at ``width``: every cell on one line, but for a ``wrap`` column's, which
        may take two in the room the others leave it (Rich gives a table's one wrapping column
        exactly that room)."""
        natural = _natural_width(console, table)
        if natural <= width:
            return True
        wrapping = [i for i in shown if self.columns[i].wrap]
        if len(wrapping) != 1:
            return False
        index = wrapping[0]
        header = max(len(line) for line in self.columns[index].header.split("\n"))
        column_natural = max([header] + [_text(row[index]).cell_len for row in self.rows])
        room = width - (natural - column_natural)
        if room < header:
            return False
        options = console.options.update_width(room)
        return all(len(console.render_lines(_text(row[index]), options, pad=False)) <= 2
                   for row in self.rows)

    def shapes(self, console: Console, width: int) -> list[RenderableType]:
        """What is printed at ``width``: the first shape that fits (the tests walk this too)."""
        every = list(range(len(self.columns)))
        # Optional columns go one at a time, the last declared first.
        shown = list(every)
        while True:
            table = self._table(shown, self.title)
            if self._fits(console, table, shown, width):
                return [table]
            optional = [i for i in shown if self.columns[i].optional]
            if not optional:
                break
            shown.remove(optional[-1])
        required = shown
        keys = [i for i in required if self.columns[i].key]
        groups: dict[str, list[int]] = {}
        for index in required:
            if not self.columns[index].key:
                groups.setdefault(self.columns[index].group, []).append(index)
        if len(groups) > 1:
            parts: list[RenderableType] = [Text(self.title, style="label")] if self.title else []
            for name, indexes in groups.items():
                part = self._table(keys + indexes, self.group_titles.get(name) or None)
                if _natural_width(console, part) > width:
                    break
                parts.append(part)
            else:
                return parts
        return self._stacked()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.shapes(console, options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _natural_width(console: Console, renderable: RenderableType) -> int:
    return console.measure(renderable, options=console.options.update_width(_UNBOUNDED)).maximum


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


class Numbered:
    """Numbered paragraphs, each wrapped under itself rather than under its number: the prose
    that explains a table's rows ("7. whitespace before the colon — why it matters ...").
    Prose, not a table cell: it may take as many lines as it needs."""

    def __init__(self, items: Iterable[tuple[str, Cell]], *,
                 justify: JustifyMethod = "right") -> None:
        self.items = [(label, _text(text)) for label, text in items]
        self.justify = justify    # right for numbers ("7."), left for words

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify=self.justify, no_wrap=True)
        grid.add_column(overflow="fold")
        for label, text in self.items:
            grid.add_row(label, text)
        yield grid


def saved(document_id: str) -> list[Text]:
    """Where a result was saved, and the command that shows it again, whole on its own line."""
    return [Text(f"saved as {document_id}; see it again with", style="muted"),
            Text.assemble("  ", (f"labctl results show {document_id}", "cmd"))]


def differs(text: Cell, differs_from_prediction: bool | None) -> Text:
    """``text`` with the " *" that marks a measurement the lesson's prediction did not foresee."""
    marked = _text(text).copy()
    if differs_from_prediction:
        marked.append(" *", style="warn")
    return marked


def legend(*entries: str) -> Text:
    """The line under a table that says what its short headers and marks mean."""
    return Text("; ".join(entries) + ".", style="muted")


def counted(counts: dict[str, int]) -> str:
    """{"closed": 3, "408": 17} as "408 ×17, closed ×3": how many of each, in a few characters."""
    return ", ".join(f"{how} ×{n}" for how, n in sorted(counts.items())) or "none"
