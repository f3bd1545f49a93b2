"""GET /voice/recordSip/{voiceId}, POST /voice/recordGroupQuery and POST /voice/recordSipQuery."""

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from fastapi import APIRouter, Request

from sipline.api.body import json_body, parse_body
from sipline.api.envelope import JsonResponse, page_data, success
from sipline.api.record_wire import group_call, phone_call
from sipline.api.responses import Envelope
from sipline.api.schemas import RecordGroupQueryRequest, RecordSipQueryRequest, WindowParams
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.domain.paging import PageRequest
from sipline.domain.time_window import time_window
from sipline.services.records import RecordFilter, RecordService
from sipline.store.models import CallRecord

router = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["call records"])


def _records(request: Request) -> RecordService:
    service: RecordService = request.app.state.platform.records
    return service


@router.get("/recordSip/{voice_id}", response_model=Envelope[dict[str, Any]], summary="One call record")
async def record_sip(voice_id: str, request: Request) -> JsonResponse:
    return success(phone_call(await _records(request).get(caller_of(request), voice_id)))


@router.post(
    "/recordGroupQuery",
    response_model=Envelope[dict[str, Any]],
    summary="Call records of a time window, newest first",
    openapi_extra=json_body(RecordGroupQueryRequest),
)
async def record_group_query(request: Request) -> JsonResponse:
    body = await parse_body(request, RecordGroupQueryRequest)
    return await _page(request, body.params, body.current, body.size, None, None, group_call)


@router.post(
    "/recordSipQuery",
    response_model=Envelope[dict[str, Any]],
    summary="Phone-call records of a time window, by group or phone, newest first",
    openapi_extra=json_body(RecordSipQueryRequest),
)
async def record_sip_query(request: Request) -> JsonResponse:
    body = await parse_body(request, RecordSipQueryRequest)
    params = body.params
    return await _page(
        request, params, body.current, body.size, params.sip_group_name, params.phone_name, phone_call
    )


async def _page(
    request: Request,
    params: WindowParams,
    current: int,
    size: int,
    group_name: str | None,
    phone_name: str | None,
    render: Callable[[CallRecord, tzinfo], dict[str, Any]],
) -> JsonResponse:
    service = _records(request)
    window = time_window(params.str_time, params.end_time, service.now(), service.retention)
    where = RecordFilter(window, group_name=group_name, phone_name=phone_name)
    page = await service.query(caller_of(request), where, PageRequest(current=current, size=size))
    data = page_data(page)
    data["searchCount"] = True
    data["records"] = [render(record, window.display_zone) for record in page.records]
    return success(data)
