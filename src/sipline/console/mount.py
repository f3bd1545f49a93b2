"""Puts the console into the platform's FastAPI app: its routes, static files and page errors."""

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from sipline.console.i18n import use_language
from sipline.console.routes import (
    balance,
    calls,
    credentials,
    dashboard,
    operator,
    operator_account,
    phones,
    preferences,
    rates,
    records,
    sign_in,
    trunks,
    webhooks,
)
from sipline.console.text import _
from sipline.console.throttle import LoginThrottle
from sipline.console.web import HERE, PageNotFound, Refused, SignInRequired, redirect, render, too_large_page

if TYPE_CHECKING:
    from sipline.bootstrap import Platform
    from sipline.config import Settings

# A body over its limit anywhere under /console is refused with a page (BodyLimitMiddleware).
BODY_REFUSALS = {"/console/": too_large_page}


def console_body_limits(settings: "Settings") -> dict[str, int]:
    """The console's paths with their own body limit: the rate deck upload, as the admin API's."""
    return {rates.IMPORT_PATH: settings.rate_deck_max_bytes}


def install_console(app: FastAPI, platform: "Platform") -> None:
    settings = platform.settings
    app.state.console_throttle = LoginThrottle(
        settings.console_login_attempts_per_user,
        settings.console_login_attempts_per_source,
        settings.console_login_window,
    )
    # operator_account before operator: its /accounts/{key}/{action} answers 404 to other actions.
    pages = (sign_in, dashboard, phones, records, calls, credentials, balance, webhooks, trunks, preferences)
    for module in (*pages, operator_account, rates, operator):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.get("/console/{anything:path}", include_in_schema=False)
    async def unknown_page(anything: str) -> Response:
        """Any other console address: the console's own 404 page, not the voice API's envelope."""
        raise PageNotFound

    async def sign_in_required(_request: Request, _exc: Exception) -> Response:
        return redirect("/console/login")

    async def not_found(request: Request, _exc: Exception) -> HTMLResponse:
        use_language(request)
        return render(
            request, "error.html", status=404, title=_("Not found"), message=_("There is nothing here.")
        )

    async def refused(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, Refused)
        use_language(request)
        return render(request, "error.html", status=exc.status, title=_("Refused"), message=_(exc.message))

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(PageNotFound, not_found)
    app.add_exception_handler(Refused, refused)
