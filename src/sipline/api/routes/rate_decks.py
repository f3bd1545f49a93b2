"""The operator's rate decks under /admin/rates (the admin bearer token): import, export, versions.

The import takes the CSV itself as the request body (its own body limit, `rate_deck_max_bytes`); a
refused file answers `-21` with every problem's line number in ``data.errors``.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from sipline.api.envelope import JsonResponse, envelope, success
from sipline.api.routes.admin import tenancy
from sipline.billing.deck_service import DeckService
from sipline.billing.decks import DeckRefused
from sipline.domain.status import Status
from sipline.domain.time_window import parse_instant

IMPORT_PATH = "/admin/rates/import"

router = APIRouter(prefix="/admin/rates", tags=["admin"], dependencies=[Depends(tenancy)])  # the token

AccountQuery = Annotated[
    str | None, Query(max_length=64, description="An account's apiKey (default: the platform deck).")
]


def _decks(request: Request) -> DeckService:
    service: DeckService = request.app.state.platform.decks
    return service


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    return parse_instant(text, name).astimezone(UTC)


@router.post(
    "/import",
    summary="Import a rate deck (CSV body) as a new version",
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def import_deck(
    request: Request,
    account: AccountQuery = None,
    effective_from: Annotated[
        str | None,
        Query(alias="effectiveFrom", max_length=64, description="ISO 8601 with offset (default: now)."),
    ] = None,
) -> JsonResponse:
    when = _instant(effective_from, "effectiveFrom")
    data = await request.body()
    platform = request.app.state.platform
    try:
        version = await _decks(request).import_csv(data, account, when)
    except DeckRefused as refused:
        errors = [{"line": error.line, "message": error.message} for error in refused.errors]
        return envelope(Status.FILE_INVALID, refused.summary(), {"errors": errors, "more": refused.more})
    await platform.rate_book.warm(datetime.now(UTC))  # the new version loaded before any call needs it
    return success(version.as_json())


@router.get("/export", summary="The rate deck in effect at a time, as CSV", response_class=Response)
async def export_deck(
    request: Request,
    account: AccountQuery = None,
    at: Annotated[
        str | None, Query(max_length=64, description="ISO 8601 with offset (default: now).")
    ] = None,
) -> Response:
    exported = await _decks(request).export_csv(account, _instant(at, "at"))
    version = "config" if exported.version is None else str(exported.version.id)
    return Response(exported.csv, media_type="text/csv", headers={"X-Rate-Deck-Version": version})


@router.get("", summary="Rate deck versions (the platform's and the accounts')")
async def list_versions(request: Request, account: AccountQuery = None) -> JsonResponse:
    return success([version.as_json() for version in await _decks(request).versions(account)])
