"""/console/phones: groups and phones with their live registration (server-sent events), sipAdd,
password reveal and reset, delete, and click-to-call from a phone's row."""

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from sipline.calls.send_sip import CallOrder
from sipline.console.session import COOKIE, customer
from sipline.console.text import _
from sipline.console.web import SECURITY_HEADERS, PageNotFound, form_of, platform_of, redirect, render
from sipline.domain import calls, validation
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.phones import NewPhoneGroup
from sipline.services.auth import Caller
from sipline.services.live_calls import CallState
from sipline.services.phones import PhoneService, Registration
from sipline.services.tenancy import AppView

router = APIRouter(prefix="/console", include_in_schema=False)
EVENT_INTERVAL = 1.0  # seconds between looks at the registrations
STREAM_LIFETIME = 600.0  # an event stream ends after this; EventSource reconnects (and re-authenticates)
SESSION_CHECK_TICKS = 10  # the session is looked up again every this many intervals


def _phones(request: Request) -> PhoneService:
    return platform_of(request).phones


async def app_of(
    request: Request, caller: Caller, app_id: str | None
) -> tuple[list[AppView], AppView | None]:
    """The customer's apps and the one asked for (the first by default); another's is not found."""
    apps = await platform_of(request).tenancy.list_apps(caller.api_key)
    if not app_id:
        return apps, apps[0] if apps else None
    for app in apps:
        if app.app_id == app_id:
            return apps, app
    raise PageNotFound


async def _page(
    request: Request, caller: Caller, app_id: str | None, error: str = "", status: int = 200
) -> Response:
    apps, app = await app_of(request, caller, app_id)
    phones = await _phones(request).phones(caller, app.app_id) if app else []
    return render(request, "phones.html", status=status, apps=apps, app=app, phones=phones, error=error)


@router.get("/phones")
async def phones_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    return await _page(request, caller, request.query_params.get("app"))


@router.post("/phones/groups")
async def add_group(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    form = await form_of(request)
    app_id = form.get("app", "")
    await app_of(request, caller, app_id)
    try:
        quantity = _quantity(form.get("quantity", ""))
        if quantity is None:
            low, high = validation.QUANTITY_MIN, validation.QUANTITY_MAX
            raise parameter_error(
                _("quantity must be a whole number {low}-{high}").format(low=low, high=high)
            )
        group = NewPhoneGroup(
            group_name=validation.check(validation.name, form.get("group_name", ""), "group name"),
            phone_name=form.get("phone_name", ""),
            quantity=quantity,
            display_num=validation.check(
                validation.display_num, form.get("display_num", ""), "display number"
            ),
        )
        validation.check(lambda p: validation.phone_names(p, quantity), group.phone_name, "phone name")
        await _phones(request).add_group(caller, app_id, group)
    except ApiError as exc:
        return await _page(request, caller, app_id, exc.reason, status=400)
    return redirect(f"/console/phones?app={app_id}")


def _quantity(text: str) -> int | None:
    low, high = validation.QUANTITY_MIN, validation.QUANTITY_MAX
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and low <= int(text) <= high):
        return None
    return int(text)


async def _phone_action(request: Request, caller: Caller) -> str:
    app_id = (await form_of(request)).get("app", "")
    await app_of(request, caller, app_id)
    return app_id


@router.post("/phones/{account}/delete")
async def delete(request: Request, account: str, caller: Annotated[Caller, Depends(customer)]) -> Response:
    app_id = await _phone_action(request, caller)
    try:
        await _phones(request).delete_phone(caller, app_id, account)
    except ApiError:
        raise PageNotFound from None
    return Response(status_code=200, headers=SECURITY_HEADERS)  # htmx swaps the row out for nothing


@router.post("/phones/{account}/call")
async def click_to_call(
    request: Request, account: str, caller: Annotated[Caller, Depends(customer)]
) -> Response:
    app_id = await _phone_action(request, caller)
    form = await form_of(request)
    service = platform_of(request).calls
    try:
        callee = validation.check(calls.callee, form.get("callee", "").strip(), "callee")
        display_num = validation.check(validation.display_num, form.get("display_num", ""), "display number")
        voice_id = await service.send(caller, CallOrder(callee, display_num, account, app_id))
    except ApiError as exc:
        return render(request, "fragments/call_error.html", reason=exc.reason)
    return render(
        request, "fragments/progress.html", voice_id=voice_id, state=CallState.PHONE_RINGING, ended=False
    )


def _registration_json(registration: Registration | None) -> dict[str, object]:
    if registration is None:
        return {"registered": False}
    return {
        "registered": True,
        "contact": registration.contact,
        "userAgent": registration.user_agent or "",
        "expires": registration.expires_at.isoformat(timespec="seconds"),
    }


@router.get("/phones/events")
async def registration_events(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    """Server-sent events: `registration` with {account: state} for the phones whose state changed."""
    _apps, app = await app_of(request, caller, request.query_params.get("app"))
    if app is None:
        raise PageNotFound
    phones = _phones(request)
    accounts = [phone.account for phone in await phones.phones(caller, app.app_id)]

    users = platform_of(request).console_users
    token = request.cookies.get(COOKIE, "")

    async def events() -> AsyncIterator[str]:
        shown: dict[str, dict[str, object]] = {}
        started = time.monotonic()
        yield "retry: 2000\n\n"
        for tick in itertools.count():
            if time.monotonic() - started > STREAM_LIFETIME or await request.is_disconnected():
                return
            # A stream outlives no session: signed out, expired or deleted ends it (checked every 10 s).
            if tick % SESSION_CHECK_TICKS == 0 and tick and await users.session(token) is None:
                return
            now_state = {account: _registration_json(phones.registration(account)) for account in accounts}
            changed = {account: state for account, state in now_state.items() if shown.get(account) != state}
            if changed:
                shown.update(changed)
                yield f"event: registration\ndata: {json.dumps(changed)}\n\n"
            await asyncio.sleep(EVENT_INTERVAL)

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.post("/phones/{account}/{action}")
async def password(
    request: Request, account: str, action: str, caller: Annotated[Caller, Depends(customer)]
) -> Response:
    """Reveal the phone's password, or give it a new one (each after the browser's confirmation).
    Declared last: the other /phones/{account}/... routes come first."""
    if action not in ("reveal", "reset"):
        raise PageNotFound
    app_id = await _phone_action(request, caller)
    phones = _phones(request)
    try:
        if action == "reset":
            shown, note = await phones.reset_password(caller, app_id, account), _("new password: ")
        else:
            shown, note = await phones.password(caller, app_id, account), ""
    except ApiError:
        raise PageNotFound from None
    return render(request, "fragments/password.html", password=shown, note=note)
