"""The customer's money: getBalance at the vendor's paths, and sipline's ledger query.

``GET /sms/getBalance`` is the vendor's account API path (its SMS host serves it for every product);
``GET /voice/getBalance`` is the same under the voice API's base path. Both are signed like every
voice call and answer the vendor's shape: ``status``, ``reason``, ``balance``, ``gift`` and ``credit``
at the top level, as strings (no ``data``). ``balance`` is what the account can spend now: the
money its calls in progress reserved is out of it already. sipline grants no gift money and no
credit line, so both are "0".

``GET /voice/ledgerQuery`` (a sipline extension) pages the account's ledger, newest first.
"""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from sipline.api.envelope import JsonResponse, page_data, success
from sipline.api.errors import describe_validation_error
from sipline.api.responses import Envelope
from sipline.api.schemas import PagedRequest
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.billing.ledger import LedgerRow, LedgerService, LedgerWindow
from sipline.billing.rating import money_text
from sipline.domain.errors import parameter_error
from sipline.domain.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageRequest
from sipline.domain.time_window import parse_instant

sms = APIRouter(prefix="/sms", route_class=SignedRoute, tags=["account"])
voice = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["account"])

NO_GIFT = NO_CREDIT = "0"  # sipline has neither: every cent of an account is its prepaid balance


class BalanceAnswer(BaseModel):
    status: str = Field(description='"0" on success, else -1, -2, -13, -16 or -18 (as for every call).')
    reason: str
    balance: str = Field(description="What the account can spend now (calls in progress excluded).")
    gift: str = Field(description='Gift money: always "0" on sipline.')
    credit: str = Field(description='Credit line: always "0" on sipline.')


class LedgerQuery(PagedRequest):
    str_time: str | None = Field(
        None, alias="strTime", max_length=64, description="From (inclusive), ISO 8601 with offset."
    )
    end_time: str | None = Field(
        None, alias="endTime", max_length=64, description="Until (exclusive), ISO 8601 with offset."
    )


def _ledger(request: Request) -> LedgerService:
    service: LedgerService = request.app.state.platform.ledger
    return service


async def _balance(request: Request) -> JsonResponse:
    balance = await _ledger(request).balance(caller_of(request).account_id)
    return JsonResponse(
        {
            "status": "0",
            "reason": "success",
            "balance": money_text(balance.available),
            "gift": NO_GIFT,
            "credit": NO_CREDIT,
        }
    )


_SUMMARY = "The account's balance (the vendor's account API)"


@sms.get("/getBalance", response_model=BalanceAnswer, summary=_SUMMARY)
async def get_balance_sms(request: Request) -> JsonResponse:
    return await _balance(request)


@voice.get("/getBalance", response_model=BalanceAnswer, summary=_SUMMARY)
async def get_balance(request: Request) -> JsonResponse:
    return await _balance(request)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LEDGER_QUERY_PARAMETERS = {
    "parameters": [
        _query("current", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page, 1-N."),
        _query("size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, "Rows, 1-100."),
        _query("strTime", {"type": "string", "maxLength": 64}, "From, ISO 8601 with offset."),
        _query("endTime", {"type": "string", "maxLength": 64}, "Until, ISO 8601 with offset."),
    ]
}


@voice.get(
    "/ledgerQuery",
    response_model=Envelope[dict[str, Any]],
    summary="The account's ledger, newest first (a sipline extension)",
    openapi_extra=LEDGER_QUERY_PARAMETERS,
)
async def ledger_query(request: Request) -> JsonResponse:
    window, page = ledger_query_of(request)
    return ledger_page(await _ledger(request).entries(caller_of(request).account_id, window, page))


def ledger_query_of(request: Request) -> tuple[LedgerWindow, PageRequest]:
    """The ledger query's parameters (``current``, ``size``, ``strTime``, ``endTime``), checked."""
    try:
        query = LedgerQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise parameter_error(describe_validation_error(exc.errors()[0])) from None
    window = LedgerWindow(
        None if query.str_time is None else parse_instant(query.str_time, "strTime"),
        None if query.end_time is None else parse_instant(query.end_time, "endTime"),
    )
    return window, PageRequest(query.current, query.size)


def ledger_page(page: Page[LedgerRow]) -> JsonResponse:
    data = page_data(page)
    data["records"] = [row.as_json() for row in page.records]
    return success(data)
