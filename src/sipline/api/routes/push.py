"""The status report push's configuration: the operator's admin routes under /admin/apps/{appId}/push
(bearer token), and the customer's signed voice-API extension POST /voice/getPushConfig (sipline's
own, not the vendor's: the customer reads its URL, events and the secret to verify reports with)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import Field

from sipline.api.body import json_body, parse_body
from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope
from sipline.api.routes.admin import tenancy
from sipline.api.schemas import Identifier, WireModel
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.events.ssrf import MAX_URL
from sipline.services.push import MAX_GRACE, MAX_LISTED, PushService

EventName = Annotated[str, Field(min_length=1, max_length=16)]
AppId = Annotated[str, Path(min_length=1, max_length=64)]


async def push_service(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> PushService:
    await tenancy(request, authorization)  # the admin token check
    service: PushService = request.app.state.platform.push_config
    return service


admin = APIRouter(prefix="/admin/apps/{app_id}/push", tags=["admin"])
PushDep = Annotated[PushService, Depends(push_service)]


class SetPushRequest(WireModel):
    url: str = Field(min_length=1, max_length=MAX_URL, description="http:// or https:// push URL.")
    events: list[EventName] | None = Field(
        None, max_length=3, description="report (default), ringing, answered; omitted: unchanged."
    )


class EventsRequest(WireModel):
    events: list[EventName] = Field(min_length=1, max_length=3)


class RotateRequest(WireModel):
    grace_seconds: float | None = Field(
        None, alias="graceSeconds", ge=0, le=MAX_GRACE.total_seconds(), description="Default 86400."
    )


class ReplayRequest(WireModel):
    event_id: str | None = Field(
        None, alias="eventId", max_length=64, description="One event; omitted: every failed or disabled one."
    )


@admin.put("", summary="Set the app's push URL (a first set makes its whsec_ secret)")
async def set_push(app_id: AppId, body: SetPushRequest, service: PushDep) -> JsonResponse:
    return success((await service.set_push(app_id, body.url, body.events)).as_json())


@admin.get("", summary="The app's push URL, secret, events, state and outbox counts")
async def show_push(app_id: AppId, service: PushDep) -> JsonResponse:
    return success((await service.show(app_id)).as_json())


@admin.put("/events", summary="Choose the events pushed")
async def set_events(app_id: AppId, body: EventsRequest, service: PushDep) -> JsonResponse:
    return success((await service.set_events(app_id, body.events)).as_json())


@admin.post("/rotate", summary="A new secret; the old one signs beside it for the grace period")
async def rotate(app_id: AppId, body: RotateRequest, service: PushDep) -> JsonResponse:
    return success((await service.rotate_secret(app_id, body.grace_seconds)).as_json())


@admin.get("/outbox", summary="The app's push events, newest first, with their last outcome")
async def outbox(
    app_id: AppId,
    service: PushDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> JsonResponse:
    return success([entry.as_json() for entry in await service.outbox(app_id, state, limit)])


@admin.get("/log", summary="The app's delivery log, newest first: each try's time, status, latency, error")
async def log(
    app_id: AppId,
    service: PushDep,
    event_id: Annotated[str | None, Query(alias="eventId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> JsonResponse:
    return success([entry.as_json() for entry in await service.log(app_id, event_id, limit)])


@admin.post("/replay", summary="Send one event again, or every failed and disabled one")
async def replay(app_id: AppId, body: ReplayRequest, service: PushDep) -> JsonResponse:
    return success({"queued": await service.replay(app_id, body.event_id)})


voice = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["status report push"])


class PushConfigRequest(WireModel):
    app_id: Identifier = Field(alias="appId", description="Voice application id.")


@voice.post(
    "/getPushConfig",
    response_model=Envelope[dict[str, object]],
    summary="The app's push URL, events and signing secret (sipline extension)",
    openapi_extra=json_body(PushConfigRequest),
)
async def get_push_config(request: Request) -> JsonResponse:
    body = await parse_body(request, PushConfigRequest)
    service: PushService = request.app.state.platform.push_config
    view = await service.show(body.app_id, account_id=caller_of(request).account_id)
    return success(view.as_json())
