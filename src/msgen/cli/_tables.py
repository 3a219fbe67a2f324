"""Tables people scan, fitted to the terminal without cutting what identifies a row.

rich shrinks every column of a table that is too wide and cuts the words that no longer fit
(``publis…``, ``127.0.0.…``). msgen's tables instead keep the key columns (a service name,
an instance) whole, wrap the others at a readable width, and, when even that is too wide,
leave out the columns that matter least and say so in the caption (``--json`` has them all).
Narrower still, each row becomes a block of lines, which wrap like any text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

READABLE = 10
"""A wrapped column is not made narrower than this (or its longest word, if shorter)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a fitted table."""

    heading: str
    key: bool = False
    """It identifies the row (a service, an instance, a file): never wrapped, never cut."""
    justify: Literal["left", "right"] = "left"
    drop: int = 0
    """0: always shown; otherwise left out when the terminal is too narrow, 1 first."""


@dataclass(frozen=True, slots=True)
class Measured:
    """What a column's cells need."""

    natural: int
    """Its width unwrapped."""
    floor: int
    """The narrowest it reads well at (a key column's is its natural width)."""
    empty: bool = False
    """Every cell is blank or ``-``: left out first when room is short."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns a table shows, and the width of each wrapped one (absent: unwrapped)."""

    shown: tuple[int, ...]
    widths: dict[int, int]
    records: bool = False
    """Too narrow for a readable table: one block per row instead, every column in it."""


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    console: Console,
    title: str | None = None,
    simple: bool = False,
) -> RenderableType:
    """A rich table of ``rows`` (rich markup) that fits ``console``'s width.

    ``simple`` draws only a rule under the headings, without outer edges (as ``msgen broker
    declare`` does); otherwise the table is boxed with a left-aligned title.
    """
    from rich.measure import Measurement

    def overhead(count: int) -> int:
        probe = _table(simple=simple, title=None)
        for _ in range(count):
            probe.add_column(width=1)
        return Measurement.get(console, console.options, probe).maximum - count

    layout = plan(columns, _measure(columns, rows), width=console.width, overhead=overhead)
    if layout.records:
        return _records(columns, rows, title=title)
    table = _table(simple=simple, title=title)
    for index in layout.shown:
        column = columns[index]
        table.add_column(
            column.heading,
            justify=column.justify,
            no_wrap=column.key,
            overflow="ellipsis" if column.key else "fold",
            width=layout.widths.get(index),
        )
    for row in rows:
        table.add_row(*(row[index] for index in layout.shown))
    hidden = [column.heading for i, column in enumerate(columns) if i not in layout.shown]
    if hidden:
        table.caption = f"not shown at this width: {', '.join(hidden)} (--json has them)"
        table.caption_justify = "left"
    return table


def plan(
    columns: Sequence[Column],
    measured: Sequence[Measured],
    *,
    width: int,
    overhead: Callable[[int], int],
) -> Layout:
    """Choose the columns to show and the widths of the wrapped ones, for ``width`` cells.

    Key columns keep their natural width. When the table is too wide, the empty columns are
    left out first (there is nothing in them to read); when the others still cannot all wrap
    at their floor, those with a ``drop`` rank, lowest first; when that is not enough, the
    rows are laid out as records. ``overhead(n)`` is what borders and padding of ``n``
    columns take.
    """
    shown = list(range(len(columns)))

    def fits() -> bool:
        return sum(measured[i].natural for i in shown) + overhead(len(shown)) <= width

    def room() -> int:
        keys = sum(measured[i].natural for i in shown if columns[i].key)
        return width - overhead(len(shown)) - keys

    def wrapped() -> list[int]:
        return [i for i in shown if not columns[i].key]

    if fits():
        return Layout(shown=tuple(shown), widths={})
    shown = [i for i in shown if columns[i].key or not measured[i].empty]
    if fits():
        return Layout(shown=tuple(shown), widths={})
    droppable = sorted(
        (i for i in wrapped() if columns[i].drop), key=lambda i: (columns[i].drop, -i)
    )
    while sum(measured[i].floor for i in wrapped()) > room() and droppable:
        shown.remove(droppable.pop(0))
        if fits():
            return Layout(shown=tuple(shown), widths={})
    others = wrapped()
    space = room()
    floors = [measured[i].floor for i in others]
    if sum(floors) > space:
        return Layout(shown=tuple(range(len(columns))), widths={}, records=True)
    widths = _level([measured[i].natural for i in others], floors, space)
    return Layout(shown=tuple(shown), widths=dict(zip(others, widths, strict=True)))


def _level(natural: Sequence[int], floors: Sequence[int], space: int) -> list[int]:
    """Narrow the widest columns to one level so that they fit ``space``, none below its floor."""
    level = max(natural, default=0)

    def widths(at: int) -> list[int]:
        return [max(low, min(wide, at)) for wide, low in zip(natural, floors, strict=True)]

    while level > 1 and sum(widths(level)) > space:
        level -= 1
    return widths(level)


def _measure(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[Measured]:
    """What each column needs (markup not counted)."""
    from rich.text import Text

    measured = []
    for index, column in enumerate(columns):
        texts = [Text.from_markup(row[index]).plain for row in rows]
        lines = [line for text in [column.heading, *texts] for line in text.splitlines()]
        words = [word for text in texts for word in text.split()]
        heading = max((len(word) for word in column.heading.split()), default=1)
        natural = max((Text(line).cell_len for line in lines), default=1)
        longest = max((Text(word).cell_len for word in words), default=1)
        floor = natural if column.key else min(natural, max(heading, min(longest, READABLE)))
        empty = all(text.strip() in {"", "-"} for text in texts)
        measured.append(Measured(natural=natural, floor=floor, empty=empty))
    return measured


def _records(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, title: str | None
) -> RenderableType:
    """One block per row: its keys in bold, then each other column that has a value."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    blocks: list[RenderableType] = [] if title is None else [Text.from_markup(title)]
    for row in rows:
        keys = [cell for column, cell in zip(columns, row, strict=True) if column.key]
        blocks.append(Text.from_markup(f"[bold]{'  '.join(keys)}[/]"))
        fields = Table.grid(padding=(0, 1))
        fields.add_column(style="dim", no_wrap=True)
        fields.add_column(overflow="fold")
        for column, cell in zip(columns, row, strict=True):
            value = Text.from_markup(cell)
            if not column.key and value.plain.strip() not in {"", "-"}:
                fields.add_row(f"{column.heading}:", Text(", ").join(value.split("\n")))
        blocks.append(Padding(fields, (0, 0, 0, 2)))
    return Group(*blocks)


def _table(*, simple: bool, title: str | None) -> Table:
    from rich import box
    from rich.table import Table

    if simple:
        return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title)
    return Table(title=title, title_justify="left")
