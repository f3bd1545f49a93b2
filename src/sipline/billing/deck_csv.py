"""Rate decks as CSV: read with a line number on every problem, written back in the same form.

The format (docs/operations.md, "Rate decks"): UTF-8 (a BOM is allowed), comma-separated, one rate
per line. A first line with a column named ``prefix`` is a header naming the columns, in any order:

    prefix,destination,rate,base_rate,period,connect_fee

``prefix``, ``rate`` and ``period`` are required; ``destination`` (a name), ``base_rate`` (the list
rate; empty: the rate) and ``connect_fee`` (empty: none) may be left out. Without a header the six
columns come in that order, the last one optional. Blank lines and lines starting with ``#`` are
skipped. Reading refuses the whole file (DeckRefused) if any line is wrong.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sipline.billing.decks import DeckLine, ErrorList, rates_of
from sipline.billing.rating import Rate

COLUMNS = ("prefix", "destination", "rate", "base_rate", "period", "connect_fee")
REQUIRED = ("prefix", "rate", "period")
MAX_LINE_BYTES = 1024
DEFAULT_MAX_LINES = 1_000_000
_BOM = b"\xef\xbb\xbf"


def parse_deck(data: bytes, max_lines: int = DEFAULT_MAX_LINES) -> list[Rate]:
    """The deck's rates, or DeckRefused naming every problem with its line number."""
    errors = ErrorList()
    lines = _deck_lines(data, max_lines, errors)
    return rates_of(lines, errors)


def _deck_lines(data: bytes, max_lines: int, errors: ErrorList) -> list[DeckLine]:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the file's final newline
    if len(raw_lines) > max_lines:
        errors.add(max_lines + 1, f"the deck has more than {max_lines} lines")
        errors.raise_if_any()
    columns: tuple[str, ...] | None = None
    lines: list[DeckLine] = []
    for number, raw in enumerate(raw_lines, 1):
        if len(raw) > MAX_LINE_BYTES:
            errors.add(number, f"line is longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            errors.add(number, "not UTF-8 text")
            continue
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = _fields(text, number, errors)
        if fields is None:
            continue
        if columns is None and not lines and "prefix" in (field.strip().lower() for field in fields):
            columns = _header(fields, number, errors)
            errors.raise_if_any()  # the rows cannot be read without their columns' names
            continue
        line = _line(fields, columns, number, errors)
        if line is not None:
            lines.append(line)
    return lines


def _fields(text: str, number: int, errors: ErrorList) -> list[str] | None:
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as exc:
        errors.add(number, f"not CSV: {exc}")
        return None


def _header(fields: list[str], number: int, errors: ErrorList) -> tuple[str, ...]:
    names = tuple(field.strip().lower() for field in fields)
    unknown = [name for name in names if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in names]
    twice = sorted({name for name in names if names.count(name) > 1})
    if unknown:
        errors.add(number, f"unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    if missing:
        errors.add(number, f"missing column(s) {', '.join(missing)}")
    if twice:
        errors.add(number, f"column(s) {', '.join(twice)} named twice")
    return names


def _line(
    fields: list[str], columns: tuple[str, ...] | None, number: int, errors: ErrorList
) -> DeckLine | None:
    if columns is None:  # no header: the documented order, the connect fee optional
        if not len(COLUMNS) - 1 <= len(fields) <= len(COLUMNS):
            errors.add(number, f"{len(fields)} columns, expected 5 or 6 ({','.join(COLUMNS)})")
            return None
        values = dict(zip(COLUMNS, fields, strict=False))
    else:
        # Trailing optional columns may be left out of a row (spreadsheets drop empty ones).
        missing = [name for name in columns[len(fields) :] if name in REQUIRED]
        if len(fields) > len(columns) or missing:
            errors.add(number, f"{len(fields)} columns, the header names {len(columns)}")
            return None
        values = dict(zip(columns, fields, strict=False))
    return DeckLine(
        number=number,
        prefix=values.get("prefix", ""),
        destination=values.get("destination", ""),
        rate=values.get("rate", ""),
        base_rate=values.get("base_rate", ""),
        period=values.get("period", ""),
        connect_fee=values.get("connect_fee", ""),
    )


def export_deck(rates: Iterable[Rate]) -> str:
    """The deck as CSV with a header, by prefix: what ``parse_deck`` reads back to the same rates."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rate in sorted(rates, key=lambda r: r.prefix):
        writer.writerow(
            (
                rate.prefix,
                rate.destination,
                rate.per_minute,
                "" if rate.base_per_minute is None else rate.base_per_minute,
                rate.period,
                rate.connect_fee,
            )
        )
    return out.getvalue()
