"""The operator's admin API under /admin, guarded by a bearer token (not the customer signature)."""

import hmac
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import Field

from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope
from sipline.api.schemas import WireModel
from sipline.domain import validation
from sipline.domain.errors import ApiError
from sipline.domain.status import Status
from sipline.services.tenancy import TenancyService


class AdminAuthError(ApiError):
    def __init__(self) -> None:
        super().__init__(
            Status.AUTH_FAILED, "admin token missing or wrong (Authorization: Bearer <token>)", 401
        )


async def tenancy(request: Request, authorization: Annotated[str | None, Header()] = None) -> TenancyService:
    platform = request.app.state.platform
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), platform.admin_token.encode()
    ):
        raise AdminAuthError()
    service: TenancyService = platform.tenancy
    return service


router = APIRouter(prefix="/admin", tags=["admin"])
TenancyDep = Annotated[TenancyService, Depends(tenancy)]


class NewAccountRequest(WireModel):
    name: str = Field("", max_length=128)
    balance: Decimal = Decimal(0)
    currency: str = "USD"
    quote_exchange: Decimal | None = Field(None, alias="quoteExchange")
    ip_allowlist: list[str] = Field(default_factory=list, alias="ipAllowlist")
    api_key: str | None = Field(None, alias="apiKey", description="Keep this apiKey (default: generated).")
    api_secret: str | None = Field(
        None, alias="apiSecret", description="Keep this apiSecret (default: generated)."
    )


class NewAppRequest(WireModel):
    api_key: str = Field(alias="apiKey")
    app_id: str | None = Field(None, alias="appId", description="Keep this appId (default: generated).")
    name: str = Field("", max_length=128)
    phone_limit: int | None = Field(
        None, alias="phoneLimit", ge=validation.PHONE_LIMIT_MIN, le=validation.PHONE_LIMIT_MAX
    )


class AllowListRequest(WireModel):
    ip_allowlist: list[str] = Field(alias="ipAllowlist")


class TopUpRequest(WireModel):
    amount: Decimal
    reference: str = Field("", max_length=128)


@router.post("/accounts", response_model=Envelope[dict[str, str]], summary="Create a customer account")
async def create_account(body: NewAccountRequest, service: TenancyDep) -> JsonResponse:
    created = await service.create_account(
        name=body.name,
        balance=body.balance,
        currency=body.currency,
        quote_exchange=body.quote_exchange,
        ip_allowlist=body.ip_allowlist,
        api_key=body.api_key,
        api_secret=body.api_secret,
    )
    return success(created.as_json())


@router.get("/accounts", summary="List customer accounts")
async def list_accounts(service: TenancyDep) -> JsonResponse:
    return success([view.as_json() for view in await service.list_accounts()])


@router.get("/accounts/{api_key}", summary="Show one account")
async def get_account(api_key: str, service: TenancyDep) -> JsonResponse:
    return success((await service.get_account(api_key)).as_json())


@router.post("/accounts/{api_key}/lock", summary="Lock an account: its API calls answer -13")
async def lock_account(api_key: str, service: TenancyDep) -> JsonResponse:
    return success((await service.set_locked(api_key, True)).as_json())


@router.post("/accounts/{api_key}/unlock", summary="Unlock an account")
async def unlock_account(api_key: str, service: TenancyDep) -> JsonResponse:
    return success((await service.set_locked(api_key, False)).as_json())


@router.put("/accounts/{api_key}/ip-allowlist", summary="Replace the IP allow-list (empty: any address)")
async def set_allowlist(api_key: str, body: AllowListRequest, service: TenancyDep) -> JsonResponse:
    return success((await service.set_ip_allowlist(api_key, body.ip_allowlist)).as_json())


@router.post("/accounts/{api_key}/top-up", summary="Add prepaid balance (a ledger row)")
async def top_up(api_key: str, body: TopUpRequest, service: TenancyDep) -> JsonResponse:
    return success((await service.top_up(api_key, body.amount, body.reference)).as_json())


@router.post("/apps", summary="Create a voice app for an account")
async def create_app(body: NewAppRequest, service: TenancyDep) -> JsonResponse:
    view = await service.create_app(
        body.api_key, name=body.name, phone_limit=body.phone_limit, app_id=body.app_id
    )
    return success(view.as_json())
