"""The tables people scan: fitted to the terminal, never cutting what identifies a row."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from msgen.cli._tables import Column, Measured, fit_table, plan

COLUMNS = [
    Column("service", key=True),
    Column("instance", key=True),
    Column("state"),
    Column("failing dependency"),
    Column("notes", drop=1),
]
ROWS = [
    ["notifications", "10.0.0.17:18001", "[red]connection refused[/]", "-", "since the deploy"],
    ["orders", "10.0.0.18:18002", "[green]ok[/]", "-", "-"],
]


def render(width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(fit_table(COLUMNS, ROWS, console=console, title="health"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize("width", range(24, 121, 4))
def test_keys_are_never_cut_and_lines_fit_at_any_width(width: int) -> None:
    text = render(width)
    lines = text.splitlines()
    assert "…" not in text
    assert max(len(line.rstrip()) for line in lines) <= width
    for row in ROWS:
        for key in row[:2]:
            assert any(key in line.split() for line in lines), (key, text)


def test_what_fits_is_shown_as_it_is() -> None:
    text = render(120)
    assert "connection refused" in text
    assert "since the deploy" in text
    assert "not shown" not in text


def test_an_empty_column_goes_first_then_by_rank_then_rows_become_records() -> None:
    def overhead(count: int) -> int:
        return 3 * count + 1

    measured = [
        Measured(natural=13, floor=13),
        Measured(natural=15, floor=15),
        Measured(natural=18, floor=10),
        Measured(natural=18, floor=10, empty=True),
        Measured(natural=16, floor=10),
    ]
    wide = plan(COLUMNS, measured, width=200, overhead=overhead)
    assert (wide.shown, wide.widths, wide.records) == ((0, 1, 2, 3, 4), {}, False)
    no_empty = plan(COLUMNS, measured, width=80, overhead=overhead)
    assert no_empty.shown == (0, 1, 2, 4)
    assert not no_empty.records
    no_notes = plan(COLUMNS, measured, width=60, overhead=overhead)
    assert no_notes.shown == (0, 1, 2)
    assert no_notes.widths == {}
    wrapped = plan(COLUMNS, measured, width=48, overhead=overhead)
    assert (wrapped.shown, wrapped.widths) == ((0, 1, 2), {2: 10})
    records = plan(COLUMNS, measured, width=40, overhead=overhead)
    assert records.records
