"""/console/records: filters, paging, the streamed CSV export of the filtered set, and a call's page
(timeline, cost and rating terms, digits, the recording)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.csv_export import csv_download
from sipline.console.filters import whole_number, window
from sipline.console.i18n import zone_of
from sipline.console.session import customer
from sipline.console.text import _
from sipline.console.web import PageNotFound, platform_of, render
from sipline.domain.errors import ApiError
from sipline.domain.paging import MAX_PAGE, PageRequest
from sipline.domain.recordings import RecordingStatus
from sipline.domain.time_window import TimeWindow
from sipline.services.auth import Caller
from sipline.services.live_calls import state_of
from sipline.services.records import RecordFilter, RecordService
from sipline.store.models import CallRecord

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 50
CSV_COLUMNS = (
    "voiceId", "submitTime", "groupName", "phoneName", "account", "callee", "displayNum", "calledInfo",
    "answerTime", "hangupTime", "callDuration", "chargedDuration", "terminationCode", "terminationReason",
    "cost", "currency", "rate", "billPeriod", "digits",
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """The filter form as given (shown back in the form) and as the service's RecordFilter."""

    values: Mapping[str, str]
    where: RecordFilter
    page: int
    error: str = ""


def filters_of(request: Request) -> Filters:
    query = request.query_params
    values = {
        key: query.get(key, "")[:64]
        for key in ("start", "end", "group", "phone", "code", "answered", "min_duration", "page")
    }
    now = datetime.now(UTC)
    default_window = TimeWindow(now - timedelta(days=1), now)
    try:
        start, end = window(values["start"], values["end"], now, timedelta(days=1), zone_of(request))
        where = RecordFilter(
            TimeWindow(start, end),
            group_name=values["group"] or None,
            phone_name=values["phone"] or None,
            termination_code=values["code"] or None,
            answered_only=values["answered"] == "1",
            min_duration=whole_number(values["min_duration"], _("minimum duration"), 86_400),
        )
        page = whole_number(values["page"], _("page"), MAX_PAGE) or 1
    except (ValueError, OverflowError) as exc:
        error = _("Filters not applied: {reason}").format(reason=exc)
        return Filters(values, RecordFilter(default_window), 1, error)
    return Filters(values, where, max(page, 1))


def _records(request: Request) -> RecordService:
    return platform_of(request).records


@router.get("/records")
async def records_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    filters = filters_of(request)
    page = await _records(request).query(caller, filters.where, PageRequest(filters.page, PAGE_SIZE))
    query = {key: value for key, value in filters.values.items() if value and key != "page"}
    return render(request, "records.html", page=page, filters=filters, query=query, state_of=state_of)


def _csv_row(record: CallRecord) -> list[object]:
    return [
        record.voice_id, record.submit_time.isoformat(), record.group_name, record.phone_name,
        record.phone_account, record.callee, record.display_num, record.called_info,
        record.answer_time.isoformat() if record.answer_time else None,
        record.hangup_time.isoformat() if record.hangup_time else None,
        record.call_duration, record.charged_duration, record.termination_code, record.termination_reason,
        record.cost, record.currency, record.rate, record.bill_period,
        "" if record.feedback_value == "-1" else record.feedback_value,
    ]  # fmt: skip


@router.get("/records.csv")
async def records_csv(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    filters = filters_of(request)
    if filters.error:
        return render(request, "error.html", status=400, message=filters.error)
    rows = _records(request).stream(caller, filters.where)
    return csv_download(CSV_COLUMNS, rows, _csv_row, "records.csv")


@router.get("/records/{voice_id}")
async def record_page(
    request: Request, voice_id: str, caller: Annotated[Caller, Depends(customer)]
) -> Response:
    try:
        record = await _records(request).get(caller, voice_id)
    except ApiError:
        raise PageNotFound from None  # not a voiceId, or another account's call: the same 404
    audio_url = recording_note = None
    if record.recording_file_id:
        try:
            link = await platform_of(request).recording_links.link(caller, record.recording_file_id)
        except ApiError as exc:
            recording_note = exc.reason
        else:
            path = request.app.url_path_for("recording_file", recording_id=link.recording_id)
            audio_url = f"{path}?{urlencode({'expires': link.expires, 'sig': link.signature})}"
    return render(
        request,
        "record.html",
        record=record,
        state=state_of(record),
        audio_url=audio_url,
        recording_note=recording_note,
        ready=RecordingStatus.READY,
    )
