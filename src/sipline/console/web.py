"""What every console page shares: templates (autoescaped), form bodies, and the page-level errors
(sign-in needed, not found, refused) that become HTML answers rather than the voice API's envelope."""

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from sipline.console.i18n import (
    DEFAULT,
    HTML_LANG,
    NAMES,
    UTC_ZONE,
    translations,
    use_language,
    zone_of,
)
from sipline.console.text import _
from sipline.services.live_calls import CallState

if TYPE_CHECKING:
    from sipline.bootstrap import Platform

HERE = Path(__file__).parent
FORM_MAX_FIELDS = 50
FORM_MAX_FILES = 1  # a multipart form's files (a rate deck upload has one)
FORM_MAX_FIELD_BYTES = 64 * 1024  # a multipart form's text field (its files are bounded by the body)
SECURITY_HEADERS = {
    # Scripts only from the platform (no inline script: markup that slipped through cannot run).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageNotFound(Exception):
    """Nothing of this user's at that address (also what another account's data looks like)."""


class Refused(Exception):
    """A request the console refuses (bad or missing CSRF token, too many sign-ins), with the message
    for the page (written `_("...")`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@pass_context
def _iso(context: Context, value: datetime | None) -> str:
    """ISO 8601 with the offset, in the request's time zone (`zone`; UTC by default)."""
    if value is None:
        return ""
    return value.astimezone(context.get("zone") or UTC_ZONE).isoformat(timespec="seconds")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


# What a call's state is called on the pages (the values are the service's, in English).
CALL_STATES = {
    CallState.PHONE_RINGING: _("phone ringing"),
    CallState.CALLEE_INVITED: _("calling callee"),
    CallState.CALLEE_RINGING: _("callee ringing"),
    CallState.TALKING: _("talking"),
    CallState.ENDED: _("ended"),
}


@functools.cache
def environment(language: str) -> Environment:
    """The templates in one language (made once per language): every page's text is written
    `_("...")` or `{% trans %}` (gettext, new style), translated by the language's catalog."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        enable_async=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    catalog = translations(language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.filters["iso"] = _iso
    env.filters["money"] = _money
    env.filters["call_state"] = lambda state: catalog.gettext(CALL_STATES.get(state, str(state)))
    return env


templates = environment(DEFAULT)


def platform_of(request: Request) -> "Platform":
    """The platform serving the request: its services are what the pages show and change."""
    platform: Platform = request.app.state.platform
    return platform


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    signed = getattr(request.state, "signed_in", None)
    language = use_language(request)
    html = (
        environment(language)
        .get_template(name)
        .render(
            request=request,
            signed=signed,
            language=language,
            html_lang=HTML_LANG[language],
            languages=NAMES,
            zone=zone_of(request),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> Response:
    """After a form post (303: the browser GETs the page); for htmx, a client-side redirect."""
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    response.headers["HX-Redirect"] = url
    return response


TOO_LARGE = _("The upload is larger than this page accepts: nothing was saved.")
UNREADABLE = _("The form could not be read (malformed, or too many fields): nothing was saved.")


@dataclass(frozen=True)
class Upload:
    """A file sent with a multipart form: the name the browser gave it, and its bytes."""

    filename: str
    data: bytes


async def form_of(request: Request) -> Mapping[str, str]:
    """The form body, url-encoded or multipart (first value of each field), read once and kept on the
    request; a multipart form's files are in ``files_of``. The body's size is bounded by the
    platform's BodyLimitMiddleware; a body over it, or a malformed one, is refused (its status)."""
    cached: dict[str, str] | None = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    form: dict[str, str] = {}
    files: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = (await request.body()).decode("utf-8", "replace")
            for key, value in parse_qsl(body, keep_blank_values=True, max_num_fields=FORM_MAX_FIELDS):
                form.setdefault(key, value)
        elif content_type.startswith("multipart/form-data"):
            await _multipart(request, form, files)
    except HTTPException as exc:  # too large (413), or not a form (400)
        raise Refused(exc.status_code, TOO_LARGE if exc.status_code == 413 else UNREADABLE) from None
    except ValueError:  # parse_qsl: more fields than FORM_MAX_FIELDS
        raise Refused(400, UNREADABLE) from None
    request.state.form = form
    request.state.files = files
    return form


async def files_of(request: Request) -> Mapping[str, Upload]:
    """The files of the request's multipart form (none for any other body)."""
    await form_of(request)
    files: dict[str, Upload] = request.state.files
    return files


async def _multipart(request: Request, form: dict[str, str], files: dict[str, Upload]) -> None:
    async with request.form(
        max_files=FORM_MAX_FILES, max_fields=FORM_MAX_FIELDS, max_part_size=FORM_MAX_FIELD_BYTES
    ) as parsed:
        for key, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                if key not in files:
                    files[key] = Upload(value.filename or "", await value.read())
            else:
                form.setdefault(key, value)


def too_large_page(_limit: int) -> ASGIApp:
    """The console's answer to a body over its limit, before any route runs: the error page, as any
    other refusal is rendered (the page that takes an upload says how large it may be)."""

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        use_language(request)  # before anything is translated: the labels below are in its language
        page = render(request, "error.html", status=413, title=_("Refused"), message=_(TOO_LARGE))
        await page(scope, receive, send)

    return answer


def chart_json(value: object) -> str:
    """Chart data for a <script type="application/json"> element (read by console.js)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
