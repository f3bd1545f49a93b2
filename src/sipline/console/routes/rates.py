"""/console/operator/rates: the rate deck versions (the platform's and the accounts'), a CSV import
by upload with every refused line shown, and the export of the deck in effect or of any version.

The CSV is the documented one (docs/operations.md, "Rate decks"; billing/deck_csv.py reads it). The
upload's body is bounded by ``rate_deck_max_bytes``, as the admin API's import is."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sipline.billing.deck_service import DeckService, ExportedDeck
from sipline.billing.decks import DeckRefused, in_effect
from sipline.console.routes.operator import Operator
from sipline.console.text import _
from sipline.console.web import (
    SECURITY_HEADERS,
    PageNotFound,
    files_of,
    form_of,
    platform_of,
    redirect,
    render,
)
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.time_window import parse_instant

PAGE = "/console/operator/rates"
IMPORT_PATH = f"{PAGE}/import"
DECK_FIELD = "deck"  # the form's file
KEY_MAX = 64  # an apiKey's length
VERSION_DIGITS_MAX = 12

router = APIRouter(prefix=PAGE, include_in_schema=False)


def _decks(request: Request) -> DeckService:
    return platform_of(request).decks


def _account_param(text: str) -> str | None:
    """An apiKey from a form or the query (empty: the platform's deck); the service checks it exists."""
    key = text.strip()
    if len(key) > KEY_MAX:
        raise parameter_error(_("account must be at most {most} characters").format(most=KEY_MAX))
    return key or None


async def _rates_page(
    request: Request,
    *,
    account: str | None = None,
    error: str = "",
    status: int = 200,
    refused: DeckRefused | None = None,
    filename: str = "",
) -> Response:
    platform = platform_of(request)
    try:
        versions = await _decks(request).versions(account)
    except ApiError:
        raise PageNotFound from None  # no such account
    imported = request.query_params.get("imported", "")
    now = datetime.now(UTC)
    return render(
        request,
        "operator/rates.html",
        status=status,
        versions=versions,
        serving=in_effect(versions, now),
        now=now,
        accounts=await platform.tenancy.list_accounts(),
        account=account,
        imported=next((v for v in versions if str(v.id) == imported), None),
        error=error,
        refused=refused,
        filename=filename,
        max_bytes=platform.settings.rate_deck_max_bytes,
        max_lines=_decks(request).max_lines,
    )


@router.get("")
async def rates(request: Request, _signed: Operator) -> Response:
    try:
        account = _account_param(request.query_params.get("account", ""))
    except ApiError as exc:
        return await _rates_page(request, error=exc.reason, status=400)
    return await _rates_page(request, account=account)


@router.post("/import")
async def import_deck(request: Request, _signed: Operator) -> Response:
    form = await form_of(request)
    upload = (await files_of(request)).get(DECK_FIELD)
    filename = "" if upload is None else upload.filename[:255]
    try:
        if upload is None or not upload.data:
            raise parameter_error(_("choose a CSV file to import (it is empty or missing)"))
        account = _account_param(form.get("account", ""))
        when = form.get("effective_from", "").strip()
        effective_from = parse_instant(when[:64], "effectiveFrom").astimezone(UTC) if when else None
        version = await _decks(request).import_csv(upload.data, account, effective_from)
    except DeckRefused as exc:
        return await _rates_page(request, status=400, refused=exc, filename=filename)
    except ApiError as exc:
        return await _rates_page(request, error=exc.reason, status=400, filename=filename)
    await platform_of(request).rate_book.warm(datetime.now(UTC))  # loaded before a call needs it
    return redirect(f"{PAGE}?imported={version.id}")


@router.get("/export")
async def export_deck(request: Request, _signed: Operator) -> Response:
    """The deck in effect now (the platform's, or ``account``'s), or the version ``version``."""
    query = request.query_params
    wanted = query.get("version", "").strip()
    try:
        if wanted:
            if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= VERSION_DIGITS_MAX):
                raise PageNotFound
            exported = await _decks(request).export_version(int(wanted))
        else:
            exported = await _decks(request).export_csv(_account_param(query.get("account", "")))
    except ApiError as exc:
        return await _rates_page(request, error=exc.reason, status=400)
    return _csv_download(exported)


def _csv_download(exported: ExportedDeck) -> Response:
    version = exported.version
    if version is None:
        name, label = "rates-config.csv", "config"
    else:
        owner = version.account or "platform"
        name, label = f"rates-{owner}-v{version.id}.csv", str(version.id)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Rate-Deck-Version": label,
    }
    return Response(exported.csv, media_type="text/csv; charset=utf-8", headers=headers)
