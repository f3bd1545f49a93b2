"""/console/operator/accounts/{apiKey}: one account for the operator: its figures and last ledger
entries; balance adjustments with a reason, fraud limits, and the quote currency.

Its router is included before routes/operator.py's (whose ``/accounts/{key}/{action}`` answers 404
to any action it does not know)."""

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sipline.billing.ledger import REASON_MAX, LedgerWindow
from sipline.billing.limits import MAX_CONCURRENT_MAX, MAX_CPS_MAX, PREFIXES_MAX, AccountLimits
from sipline.console.filters import whole_number
from sipline.console.routes.operator import Operator, submit
from sipline.console.web import PageNotFound, platform_of, render
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.paging import PageRequest

router = APIRouter(prefix="/console/operator/accounts", include_in_schema=False)
LEDGER_SHOWN = 20  # the page's last ledger entries (the whole ledger: /admin/accounts/{key}/ledger)
AMOUNT_MAX = 32  # characters of an amount (the services check its value, naming the field)


def _whole(text: str, field: str, maximum: int) -> int | None:
    """A form's whole number (AccountLimits checks it is at least 1); empty: None (no limit)."""
    try:
        return whole_number(text, field, maximum)
    except ValueError as exc:
        raise parameter_error(str(exc)) from None


def _amount(form: Mapping[str, str], name: str) -> str:
    """An amount as typed, at most AMOUNT_MAX characters (longer is no amount: cut, the service refuses)."""
    return form.get(name, "").strip()[: AMOUNT_MAX + 1]


def _prefix_list(text: str) -> list[str]:
    """Prefixes as typed: separated by spaces, commas or new lines."""
    return text.replace(",", " ").split()


def limits_of(form: Mapping[str, str]) -> AccountLimits:
    """The limits form as AccountLimits (checked there, each refusal naming its field)."""
    cap = _amount(form, "daily_cap")
    return AccountLimits.of(
        max_concurrent=_whole(form.get("max_concurrent", ""), "maxConcurrent", MAX_CONCURRENT_MAX),
        max_cps=_whole(form.get("max_cps", ""), "maxCps", MAX_CPS_MAX),
        daily_cap=cap or None,
        deny=_prefix_list(form.get("deny", "")),
        allow_only=_prefix_list(form.get("allow_only", "")),
    )


async def _account_page(request: Request, api_key: str, error: str = "", status: int = 200) -> Response:
    platform = platform_of(request)
    try:
        account = await platform.tenancy.get_account(api_key)
    except ApiError:
        raise PageNotFound from None
    standing = await platform.limits.standing(api_key, datetime.now(UTC))
    ledger = await platform.ledger.entries_of(api_key, LedgerWindow(), PageRequest(1, LEDGER_SHOWN))
    return render(
        request,
        "operator/account.html",
        status=status,
        account=account,
        limits=standing.limits,
        spent_today=standing.spent_today,
        live_calls=platform.admission.live_calls(standing.account_id),
        ledger=ledger,
        error=error,
        bounds={
            "max_concurrent": MAX_CONCURRENT_MAX,
            "max_cps": MAX_CPS_MAX,
            "prefixes": PREFIXES_MAX,
            "reason": REASON_MAX,
        },
    )


async def _change(
    request: Request, api_key: str, change: Callable[[Mapping[str, str]], Awaitable[object]]
) -> Response:
    """A form of the account's page: applied, then back to the page; refused: the page with why (an
    unknown account: 404)."""
    page = partial(_refused_page, api_key=api_key)
    return await submit(request, change, page, f"/console/operator/accounts/{quote(api_key, safe='')}")


async def _refused_page(request: Request, error: str, status: int, *, api_key: str) -> Response:
    return await _account_page(request, api_key, error, status)


@router.get("/{api_key}")
async def account(request: Request, api_key: str, _signed: Operator) -> Response:
    return await _account_page(request, api_key)


@router.post("/{api_key}/adjust")
async def adjust(request: Request, api_key: str, _signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        return await platform_of(request).ledger.adjust(
            api_key, _amount(form, "amount"), form.get("reason", "")
        )

    return await _change(request, api_key, change)


@router.post("/{api_key}/limits")
async def set_limits(request: Request, api_key: str, _signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        return await platform_of(request).limits.set(api_key, limits_of(form))

    return await _change(request, api_key, change)


@router.post("/{api_key}/quote")
async def set_quote(request: Request, api_key: str, _signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        exchange = _amount(form, "quote_exchange")
        return await platform_of(request).tenancy.set_quote(
            api_key, form.get("currency", "")[:8], exchange or None
        )

    return await _change(request, api_key, change)
