"""The operator's billing routes under /admin (bearer token): an account's ledger, adjustments with a
reason, and its fraud limits."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope
from sipline.api.routes.admin import tenancy
from sipline.api.routes.balance import LEDGER_QUERY_PARAMETERS, ledger_page, ledger_query_of
from sipline.api.schemas import WireModel
from sipline.billing.ledger import REASON_MAX, LedgerService
from sipline.billing.limit_store import LimitStore, LimitsView
from sipline.billing.limits import MAX_CONCURRENT_MAX, MAX_CPS_MAX, PREFIXES_MAX, AccountLimits

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(tenancy)])  # the token


class AdjustRequest(WireModel):
    amount: Decimal = Field(description="Signed: positive adds, negative takes (never below zero).")
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="Why: kept in the ledger.")


class LimitsRequest(WireModel):
    max_concurrent: int | None = Field(None, alias="maxConcurrent", ge=1, le=MAX_CONCURRENT_MAX)
    max_cps: int | None = Field(None, alias="maxCps", ge=1, le=MAX_CPS_MAX)
    daily_cap: Decimal | None = Field(None, alias="dailyCap", description="Per UTC day.")
    deny: list[str] = Field(default_factory=list, max_length=PREFIXES_MAX)
    allow_only: list[str] = Field(default_factory=list, alias="allowOnly", max_length=PREFIXES_MAX)


def _ledger(request: Request) -> LedgerService:
    service: LedgerService = request.app.state.platform.ledger
    return service


def _limits(request: Request) -> LimitStore:
    store: LimitStore = request.app.state.platform.limits
    return store


@router.get(
    "/accounts/{api_key}/ledger",
    response_model=Envelope[dict[str, Any]],
    summary="An account's ledger, newest first",
    openapi_extra=LEDGER_QUERY_PARAMETERS,
)
async def account_ledger(api_key: str, request: Request) -> JsonResponse:
    window, page = ledger_query_of(request)
    return ledger_page(await _ledger(request).entries_of(api_key, window, page))


@router.post("/accounts/{api_key}/adjust", summary="Correct a balance, with a reason (a ledger row)")
async def adjust(api_key: str, body: AdjustRequest, request: Request) -> JsonResponse:
    row = await _ledger(request).adjust(api_key, body.amount, body.reason)
    return success(row.as_json())


@router.get("/accounts/{api_key}/limits", summary="An account's fraud limits")
async def get_limits(api_key: str, request: Request) -> JsonResponse:
    return success(LimitsView(api_key, await _limits(request).get(api_key)).as_json())


@router.put("/accounts/{api_key}/limits", summary="Replace an account's fraud limits (absent: none)")
async def set_limits(api_key: str, body: LimitsRequest, request: Request) -> JsonResponse:
    limits = AccountLimits.of(body.max_concurrent, body.max_cps, body.daily_cap, body.deny, body.allow_only)
    return success(LimitsView(api_key, await _limits(request).set(api_key, limits)).as_json())
