"""POST /voice/sendSip: Invoke Phone (click-to-call), and sipline's POST /voice/hangup."""

from fastapi import APIRouter, Request

from sipline.api.body import json_body, parse_body
from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope
from sipline.api.schemas import HangupRequest, SendSipRequest
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.calls.send_sip import CallOrder, CallService
from sipline.services.live_calls import LiveCalls

router = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["calls"])


@router.post(
    "/sendSip",
    response_model=Envelope[str],
    summary="Invoke a phone: ring it, then call the callee and bridge (answers with the voiceId)",
    openapi_extra=json_body(SendSipRequest),
)
async def send_sip(request: Request) -> JsonResponse:
    body = await parse_body(request, SendSipRequest)
    service: CallService = request.app.state.platform.calls
    order = CallOrder(
        callee=body.callee,
        display_num=body.display_num,
        account=body.account,
        app_id=body.app_id,
        called_info=body.called_info,
    )
    return success(await service.send(caller_of(request), order))


@router.post(
    "/hangup",
    response_model=Envelope[None],
    summary="Hang up a call in progress (a sipline extension)",
    description="Ends the call by its voiceId: a ringing leg is cancelled, an answered one gets BYE.",
    openapi_extra=json_body(HangupRequest),
)
async def hangup(request: Request) -> JsonResponse:
    body = await parse_body(request, HangupRequest)
    live: LiveCalls = request.app.state.platform.live_calls
    await live.hang_up(caller_of(request), body.voice_id)
    return success(None)
