"""/console/settings: the user's language and time zone; /console/language: the header's language
switch (a cookie), usable before sign-in."""

import functools
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.i18n import LANG_COOKIE, language_of, zone_of
from sipline.console.session import set_cookie, signed_in
from sipline.console.text import _
from sipline.console.web import form_of, platform_of, redirect, render
from sipline.domain.errors import ApiError
from sipline.services.console_users import LANGUAGES, SignedIn, check_language, check_time_zone, time_zones

router = APIRouter(prefix="/console", include_in_schema=False)
LANG_COOKIE_AGE = 365 * 24 * 3600


@functools.cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(time_zones()))


def _safe_next(path: str) -> str:
    """Back to a console page only (no other site: //host, /\\host, or a scheme)."""
    if path.startswith("/console") and "//" not in path and "\\" not in path and len(path) <= 256:
        return path
    return "/console/login"


@router.get("/language")
async def switch_language(request: Request) -> Response:
    language = request.query_params.get("to", "")
    response = redirect(_safe_next(request.query_params.get("next", "")))
    if language in LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, language, LANG_COOKIE_AGE)
    return response


def _page(
    request: Request, error: str = "", status: int = 200, language: str = "", zone: str = ""
) -> Response:
    return render(
        request,
        "settings.html",
        status=status,
        error=error,
        chosen_language=language or language_of(request),
        chosen_zone=zone or zone_of(request).key,
        zone_names=_zone_names(),
        now=datetime.now(UTC),
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/settings")
async def settings_page(request: Request, _signed: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    return _page(request)


@router.post("/settings")
async def save_settings(request: Request, signed: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    form = await form_of(request)
    language, zone = form.get("language", "")[:16], form.get("time_zone", "")[:128]
    try:
        check_language(language)
    except ApiError:
        return _page(request, _("Choose English or Simplified Chinese."), 400, zone=zone)
    try:
        zone = check_time_zone(zone)
    except ApiError:
        message = _("{zone} is not a time zone: give an IANA name such as Asia/Shanghai.")
        message = message.format(zone=zone or '""')
        return _page(request, message, 400, language, zone)
    try:
        await platform_of(request).console_users.set_preferences(signed.user.email, language, zone)
    except ApiError as exc:  # the user deleted meanwhile
        return _page(request, exc.reason, 400, language, zone)
    response = redirect("/console/settings?saved=1")
    set_cookie(request, response, LANG_COOKIE, language, LANG_COOKIE_AGE)  # kept after sign-out
    return response
