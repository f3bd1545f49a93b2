"""GET/POST /console/login, POST /console/logout, and / (each role's first page)."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.i18n import use_language
from sipline.console.session import (
    COOKIE,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    clear_cookie,
    login_csrf,
    set_cookie,
    signed_in,
)
from sipline.console.text import _
from sipline.console.throttle import LoginThrottle
from sipline.console.web import Refused, form_of, platform_of, redirect, render
from sipline.services.console_users import SignedIn

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_CSRF_AGE = 3600


def _home(signed: SignedIn) -> str:
    return "/console/operator/accounts" if signed.user.operator else "/console/dashboard"


@router.get("")
@router.get("/")
async def home(signed: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    return redirect(_home(signed))


def _login_page(request: Request, status: int = 200, error: str = "", email: str = "") -> Response:
    token = login_csrf(request)
    response = render(request, "login.html", status=status, csrf=token, error=error, email=email)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, LOGIN_CSRF_AGE)
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    use_language(request)
    form = await form_of(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not (cookie and sent and hmac.compare_digest(cookie.encode(), sent.encode())):
        raise Refused(403, _("The sign-in form has expired: reload the page and try again."))
    email = form.get("email", "").strip().lower()[:254]
    password = form.get("password", "")
    source = request.client.host if request.client else "unknown"
    throttle: LoginThrottle = request.app.state.console_throttle
    if throttle.blocked(email, source):
        message = _("Too many failed sign-ins: wait a few minutes and try again.")
        return _login_page(request, 429, message, email)
    users = platform_of(request).console_users
    result = await users.sign_in(email, password)
    if result is None:
        throttle.failed(email, source)
        return _login_page(request, 401, _("Wrong e-mail or password."), email)
    throttle.succeeded(email)
    token, signed = result
    response = redirect(_home(signed))
    set_cookie(request, response, COOKIE, token, platform_of(request).settings.console_session_ttl)
    clear_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, _signed: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    users = platform_of(request).console_users
    await users.sign_out(request.cookies.get(COOKIE, ""))
    response = redirect("/console/login")
    clear_cookie(request, response, COOKIE)
    return response
