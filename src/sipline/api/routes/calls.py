"""POST /voice/sendSip: Invoke Phone (click-to-call)."""

from fastapi import APIRouter, Request

from sipline.api.body import json_body, parse_body
from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope
from sipline.api.schemas import SendSipRequest
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.calls.send_sip import CallOrder, CallService

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
