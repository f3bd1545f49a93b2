"""/console/webhooks: each app's status report push as its customer manages it: the URL (checked by
the service, the SSRF rules included) and the events sent, the signing secret revealed on request and
rotated (the previous one signing beside it for the service's grace period), the outbox, the delivery
log, and replays of one event or of every failed one."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.i18n import zone_of
from sipline.console.routes.phones import app_of
from sipline.console.session import customer
from sipline.console.text import _
from sipline.console.web import Refused, form_of, platform_of, render
from sipline.domain.errors import ApiError
from sipline.events.outbox import ANSWERED, DELIVERED, DELIVERING, DISABLED, FAILED, PENDING, REPORT, RINGING
from sipline.services.auth import Caller
from sipline.services.push import PushService, PushView

router = APIRouter(prefix="/console", include_in_schema=False)
LISTED = 50  # outbox events and delivery attempts shown, newest first
EVENT_ID_MAX = 64
EVENT_LABELS = {
    REPORT: _("the call's final report"),
    RINGING: _("the callee is ringing"),
    ANSWERED: _("the callee answered"),
}
STATE_LABELS = {
    PENDING: _("waiting"),
    DELIVERING: _("being sent"),
    DELIVERED: _("delivered"),
    FAILED: _("failed"),
    DISABLED: _("held: endpoint disabled"),
}


def _push(request: Request) -> PushService:
    return platform_of(request).push_config


async def _page(
    request: Request,
    caller: Caller,
    app_id: str | None,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    apps, app = await app_of(request, caller, app_id)
    push = _push(request)
    view: PushView | None = None
    if app is not None:
        try:
            view = await push.show(app.app_id, caller.account_id)
        except ApiError:
            view = None  # no push URL yet: the form sets the first
    log = await push.log(view.app_id, limit=LISTED) if view else []
    outbox = await push.outbox(view.app_id, limit=LISTED) if view else []
    return render(
        request,
        "webhooks.html",
        status=status,
        apps=apps,
        app=app,
        view=view,
        log=log,
        outbox=outbox,
        event_labels={event: _(label) for event, label in EVENT_LABELS.items()},  # in the user's language
        state_labels={state: _(label) for state, label in STATE_LABELS.items()},
        replayable=(FAILED, DISABLED),
        notice=notice,
        error=error,
    )


@router.get("/webhooks")
async def webhooks_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    return await _page(request, caller, request.query_params.get("app"))


async def _app_posted(request: Request, caller: Caller) -> str:
    """The form's app, if it is the customer's (another account's is not found)."""
    app_id = (await form_of(request)).get("app", "")
    if not app_id:
        raise Refused(400, _("The form names no app."))
    await app_of(request, caller, app_id)
    return app_id


@router.post("/webhooks/url")
async def set_url(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    app_id = await _app_posted(request, caller)
    form = await form_of(request)
    events = [event for event in EVENT_LABELS if form.get(f"event_{event}") == "1"]
    try:
        await _push(request).set_push(app_id, form.get("url", "").strip(), events)
    except ApiError as exc:  # the URL refused (malformed, or where pushes may not go), or no event
        return await _page(request, caller, app_id, error=exc.reason, status=400)
    return await _page(request, caller, app_id, notice=_("Push URL and events saved."))


@router.post("/webhooks/secret")
async def reveal_secret(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    """The signing secret, for the page's confirmed "reveal" (the password fragment of the phones)."""
    app_id = await _app_posted(request, caller)
    if (await form_of(request)).get("confirm") != "1":
        raise Refused(400, _("Confirm that the signing secret may be shown on screen."))
    try:
        view = await _push(request).show(app_id, caller.account_id)
    except ApiError as exc:
        raise Refused(400, exc.reason) from None
    return render(request, "fragments/password.html", password=view.secret, note="")


@router.post("/webhooks/rotate")
async def rotate_secret(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    app_id = await _app_posted(request, caller)
    try:
        view = await _push(request).rotate_secret(app_id)
    except ApiError as exc:
        return await _page(request, caller, app_id, error=exc.reason, status=400)
    notice = _("A new signing secret is in use: reveal it to update your receiver.")
    if view.previous_secret_expires_at is not None:
        until = view.previous_secret_expires_at.astimezone(zone_of(request)).isoformat(timespec="seconds")
        notice += " " + _("The previous one signs beside it until {until}.").format(until=until)
    return await _page(request, caller, app_id, notice=notice)


@router.post("/webhooks/replay")
async def replay(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    """One event sent again (any state but being sent), or every failed and held one."""
    app_id = await _app_posted(request, caller)
    event_id = (await form_of(request)).get("event", "").strip()
    if len(event_id) > EVENT_ID_MAX:
        error = _("An event id has at most {n} characters.").format(n=EVENT_ID_MAX)
        return await _page(request, caller, app_id, error=error, status=400)
    try:
        queued = await _push(request).replay(app_id, event_id or None)
    except ApiError as exc:
        return await _page(request, caller, app_id, error=exc.reason, status=400)
    notice = _("{n} event(s) queued to be sent again.").format(n=queued)
    return await _page(request, caller, app_id, notice=notice)
