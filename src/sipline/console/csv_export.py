"""Streamed CSV downloads of a page's filtered rows (records, ledger): one line at a time, cells a
spreadsheet would run as formulas defused."""

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from fastapi.responses import StreamingResponse

from sipline.console.web import SECURITY_HEADERS

T = TypeVar("T")


def csv_line(row: Sequence[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if value is None else _defused(str(value)) for value in row])
    return out.getvalue()


def _defused(cell: str) -> str:
    """A cell a spreadsheet would take for a formula (=, +, -, @ first) is prefixed with ' (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(cell) else cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def csv_download(
    columns: Sequence[str],
    rows: AsyncIterator[T],
    cells: Callable[[T], Sequence[object]],
    filename: str,
) -> StreamingResponse:
    """The header line, then each row's ``cells`` as the iterator yields it."""

    async def lines() -> AsyncIterator[str]:
        yield csv_line(columns)
        async for row in rows:
            yield csv_line(cells(row))

    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
