"""Who is signed in: the session cookie, CSRF checks on every state-changing request, the roles.

The cookie holds a random token (HttpOnly, SameSite=Lax, Path=/console, Secure over TLS). Each session
has its own CSRF token, which every form sends as a hidden field and every htmx request as the
X-CSRF-Token header; any request but GET/HEAD without the right one is refused (403). The sign-in
form, before any session, uses a double-submit cookie instead.
"""

import hmac
import secrets

from fastapi import Request, Response

from sipline.console.i18n import use_language
from sipline.console.text import _
from sipline.console.web import PageNotFound, Refused, SignInRequired, form_of, platform_of
from sipline.services.auth import Caller
from sipline.services.console_users import ConsoleUsers, SignedIn

COOKIE = "sipline_console"
LOGIN_CSRF_COOKIE = "sipline_console_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
PATH = "/console"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _users(request: Request) -> ConsoleUsers:
    users = platform_of(request).console_users
    return users


def served_over_tls(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    trusted = platform_of(request).settings.console_trust_forwarded_proto
    return trusted and request.headers.get("x-forwarded-proto", "").lower() == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=served_over_tls(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="lax", secure=served_over_tls(request))


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER) or (await form_of(request)).get(CSRF_FIELD, "")
    if not (sent and expected and hmac.compare_digest(sent.encode(), expected.encode())):
        raise Refused(
            403, _("The form has expired or did not come from this console: reload the page and try again.")
        )


def login_csrf(request: Request) -> str:
    """The sign-in form's token: the browser's cookie, or a new one (set by the page)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


async def signed_in(request: Request) -> SignedIn:
    """The request's user (a FastAPI dependency); CSRF checked for anything but GET/HEAD."""
    token = request.cookies.get(COOKIE, "")
    signed = await _users(request).session(token)
    if signed is None:
        raise SignInRequired
    request.state.signed_in = signed
    use_language(request)  # the user's: the page's text made in Python is in it, refusals included
    if request.method not in SAFE_METHODS:
        await check_csrf(request, signed.csrf_token)
    return signed


async def customer(request: Request) -> Caller:
    """A customer's request: the account they act for. An operator has no customer pages (404)."""
    caller = (await signed_in(request)).caller
    if caller is None:
        raise PageNotFound
    return caller


async def operator(request: Request) -> SignedIn:
    signed = await signed_in(request)
    if not signed.user.operator:
        raise PageNotFound  # a customer learns nothing of the operator's pages
    return signed
