"""POST /voice/sipAdd, /voice/sipQuery, /voice/sipReset, and sipline's /voice/sipDelete."""

from fastapi import APIRouter, Request

from sipline.api.body import json_body, parse_body
from sipline.api.envelope import JsonResponse, page_data, success
from sipline.api.responses import Envelope, PageData, PhoneRecord
from sipline.api.schemas import SipAddRequest, SipDeleteRequest, SipQueryRequest, SipResetRequest
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.domain.paging import PageRequest
from sipline.domain.phones import NewPhoneGroup
from sipline.services.phones import PhoneService

router = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["phones"])


def _phones(request: Request) -> PhoneService:
    # Looked up here rather than through Depends(): on this hot path sub-dependencies cost more
    # than the whole sipQuery lookup (measured with bench/api).
    service: PhoneService = request.app.state.platform.phones
    return service


@router.post(
    "/sipAdd",
    response_model=Envelope[None],
    summary="Create a group of SIP phones",
    openapi_extra=json_body(SipAddRequest),
)
async def sip_add(request: Request) -> JsonResponse:
    body = await parse_body(request, SipAddRequest)
    group = NewPhoneGroup(
        group_name=body.group_name,
        phone_name=body.phone_name,
        quantity=body.quantity,
        display_num=body.display_num,
    )
    await _phones(request).add_group(caller_of(request), body.app_id, group)
    return success(None)


@router.post(
    "/sipQuery",
    response_model=Envelope[PageData[PhoneRecord]],
    summary="List phones with credentials",
    openapi_extra=json_body(SipQueryRequest),
)
async def sip_query(request: Request) -> JsonResponse:
    body = await parse_body(request, SipQueryRequest)
    page_request = PageRequest(current=body.current, size=body.size)
    page = await _phones(request).query(caller_of(request), body.params.app_id, page_request)
    return success(page_data(page))


@router.post(
    "/sipReset",
    response_model=Envelope[str],
    summary="Give a phone a new SIP password",
    openapi_extra=json_body(SipResetRequest),
)
async def sip_reset(request: Request) -> JsonResponse:
    body = await parse_body(request, SipResetRequest)
    return success(await _phones(request).reset_password(caller_of(request), body.app_id, body.account))


@router.post(
    "/sipDelete",
    response_model=Envelope[None],
    summary="Delete a SIP phone (a sipline extension)",
    description="Removes the phone, frees its place in the app's phone limit and drops its registrations.",
    openapi_extra=json_body(SipDeleteRequest),
)
async def sip_delete(request: Request) -> JsonResponse:
    body = await parse_body(request, SipDeleteRequest)
    await _phones(request).delete_phone(caller_of(request), body.app_id, body.account)
    return success(None)
