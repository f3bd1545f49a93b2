"""Printing results: tables (rich) for people, JSON in the API's own field names for scripts.

Tables fit the terminal's width ($COLUMNS if set): long values fold onto the next line instead of
being cut, so an account or a password can always be copied. Into a pipe or a file, with no $COLUMNS,
a row stays on one line whatever its width (for grep, cut and awk). What is not known or does not
apply prints blank, never "None".
"""

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

UNBOUNDED_WIDTH = 10_000
COLUMN_GAP = 3  # rich's padding and separator between two columns


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " ".join(cell(item) for item in value)
    return str(value)


def _console() -> Console:
    # sys.stdout as it is now (click's test runner swaps it); no markup or highlighting, which would
    # mangle or colour values such as "[sip:...]".
    console = Console(file=sys.stdout, highlight=False, markup=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = UNBOUNDED_WIDTH
    return console


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console = _console()
    # Whole headers where they fit side by side; in a narrower terminal they fold like the values
    # (rich would otherwise drop the columns that do not fit).
    whole_headers = sum(len(header) + COLUMN_GAP for header in headers) <= console.width
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold", min_width=len(header) if whole_headers else None)
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    console.print(table)


def print_mapping(mapping: Mapping[str, Any]) -> None:
    """One `field  value` line per entry (a record, an account)."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in mapping.items():
        table.add_row(key, cell(value))
    _console().print(table)
