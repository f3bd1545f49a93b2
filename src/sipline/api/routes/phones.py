"""POST /voice/sipAdd, /voice/sipQuery, /voice/sipReset."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from sipline.api.envelope import JsonResponse, page_data, success
from sipline.api.responses import Envelope, PageData, PhoneRecord
from sipline.api.schemas import SipAddRequest, SipQueryRequest, SipResetRequest
from sipline.api.signed_route import SignedRoute, caller
from sipline.domain.paging import PageRequest
from sipline.domain.phones import NewPhoneGroup, PhoneView
from sipline.services.auth import Caller
from sipline.services.phones import PhoneService

router = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["phones"])
CallerDep = Annotated[Caller, Depends(caller)]


def phones(request: Request) -> PhoneService:
    service: PhoneService = request.app.state.platform.phones
    return service


PhonesDep = Annotated[PhoneService, Depends(phones)]


@router.post("/sipAdd", response_model=Envelope[None], summary="Create a group of SIP phones")
async def sip_add(body: SipAddRequest, who: CallerDep, service: PhonesDep) -> JsonResponse:
    group = NewPhoneGroup(
        group_name=body.group_name,
        phone_name=body.phone_name,
        quantity=body.quantity,
        display_num=body.display_num,
    )
    await service.add_group(who, body.app_id, group)
    return success(None)


@router.post(
    "/sipQuery", response_model=Envelope[PageData[PhoneRecord]], summary="List phones with credentials"
)
async def sip_query(body: SipQueryRequest, who: CallerDep, service: PhonesDep) -> JsonResponse:
    page = await service.query(who, body.params.app_id, PageRequest(current=body.current, size=body.size))
    return success(page_data(page, phone_record))


@router.post("/sipReset", response_model=Envelope[str], summary="Give a phone a new SIP password")
async def sip_reset(body: SipResetRequest, who: CallerDep, service: PhonesDep) -> JsonResponse:
    return success(await service.reset_password(who, body.app_id, body.account))


def phone_record(phone: PhoneView) -> dict[str, Any]:
    return {
        "groupName": phone.group_name,
        "phoneName": phone.phone_name,
        "account": phone.account,
        "password": phone.password,
        "displayNum": phone.display_num,
    }
