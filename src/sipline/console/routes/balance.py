"""/console/balance: the account's balance and its ledger (a time window, newest first, 50 a page,
each row's running balance, a call's rows linked to its record), and the streamed CSV of the window."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.billing.ledger import LedgerRow, LedgerService, LedgerWindow
from sipline.billing.postings import Kind
from sipline.console.csv_export import csv_download
from sipline.console.filters import whole_number, window
from sipline.console.i18n import zone_of
from sipline.console.session import customer
from sipline.console.text import _
from sipline.console.web import platform_of, render
from sipline.domain.paging import MAX_PAGE, PageRequest
from sipline.services.auth import Caller

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 50
DEFAULT_WINDOW = timedelta(days=30)
CALL_KINDS = frozenset({Kind.RESERVE.value, Kind.RELEASE.value, Kind.CALL.value})  # reference: a voiceId
KIND_LABELS = {
    Kind.TOPUP.value: _("top-up"),
    Kind.ADJUST.value: _("adjustment"),
    Kind.RESERVE.value: _("reserved for a call"),
    Kind.RELEASE.value: _("reservation released"),
    Kind.CALL.value: _("call charge"),
}
CSV_COLUMNS = ("createdAt", "kind", "amount", "balanceAfter", "reference")


@dataclass(frozen=True)
class LedgerFilters:
    """The window form as given (shown back in it) and as the service's LedgerWindow."""

    values: Mapping[str, str]
    start: datetime
    end: datetime
    page: int
    error: str = ""

    @property
    def window(self) -> LedgerWindow:
        return LedgerWindow(self.start, self.end)


def filters_of(request: Request) -> LedgerFilters:
    values = {key: request.query_params.get(key, "")[:64] for key in ("start", "end", "page")}
    now = datetime.now(UTC)
    try:
        start, end = window(values["start"], values["end"], now, DEFAULT_WINDOW, zone_of(request))
        for moment in (start, end):
            moment.astimezone(UTC)  # OverflowError: it has no UTC time (years 1 and 9999 at the ends)
        page = whole_number(values["page"], _("page"), MAX_PAGE) or 1
    except (ValueError, OverflowError) as exc:
        message = _("Window not applied: {reason}").format(reason=exc)
        return LedgerFilters(values, now - DEFAULT_WINDOW, now, 1, message)
    return LedgerFilters(values, start, end, max(page, 1))


def _ledger(request: Request) -> LedgerService:
    return platform_of(request).ledger


@router.get("/balance")
async def balance_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    filters = filters_of(request)
    ledger = _ledger(request)
    balance = await ledger.balance(caller.account_id)
    page = await ledger.entries(caller.account_id, filters.window, PageRequest(filters.page, PAGE_SIZE))
    query = {key: value for key, value in filters.values.items() if value and key != "page"}
    return render(
        request,
        "balance.html",
        status=400 if filters.error else 200,
        balance=balance,
        page=page,
        filters=filters,
        query=query,
        call_kinds=CALL_KINDS,
        kind_labels={kind: _(label) for kind, label in KIND_LABELS.items()},  # in the user's language
    )


def _csv_row(row: LedgerRow) -> list[object]:
    return [
        row.created_at.astimezone(UTC).isoformat(),
        row.kind,
        row.amount,
        row.balance_after,
        row.reference,
    ]


@router.get("/balance.csv")
async def balance_csv(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    filters = filters_of(request)
    if filters.error:
        return render(request, "error.html", status=400, message=filters.error)
    rows = _ledger(request).stream(caller.account_id, filters.window)
    return csv_download(CSV_COLUMNS, rows, _csv_row, "ledger.csv")
