"""Call records in the vendor's field names, order and string formats.

Times are ISO 8601 with an offset (UTC unless the query asked in another offset); money is a plain
decimal string ("1.2", "0.4"); what has not happened yet, or does not apply, is null.
"""

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import partial
from typing import Any

from sipline.domain import call_origin
from sipline.domain.calls import ring_duration
from sipline.store.models import CallRecord

USD = "USD"


def _time(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def epoch_millis(value: datetime | None) -> int | None:
    """The status report push's times: epoch milliseconds (the vendor's format there)."""
    return None if value is None else round(value.timestamp() * 1000)


TimeFormat = Callable[[datetime | None], Any]


def _timings(record: CallRecord, time: TimeFormat) -> dict[str, Any]:
    return {
        "submitTime": time(record.submit_time),
        "callTime": time(record.call_time),
        "ringingTime": time(record.ringing_time),
        "answerTime": time(record.answer_time),
        "hangupTime": time(record.hangup_time),
        "callDuration": record.call_duration,
        "chargedDuration": record.charged_duration,
        "terminationCode": record.termination_code,
        "terminationReason": record.termination_reason,
        "cost": _money(record.cost),
        "billPeriod": record.bill_period,
        "rate": _money(record.rate),
    }


def _settlement(record: CallRecord) -> dict[str, Any]:
    """Filled only for accounts that quote in another currency than USD (as the vendor does)."""
    foreign = record.currency != USD
    return {
        "settleRate": _money(record.settle_rate) if foreign else None,
        "quoteExchange": _money(record.quote_exchange) if foreign else None,
        "currency": record.currency if foreign else None,
        "settlePay": _money(record.settle_pay) if foreign else None,
    }


def phone_call(record: CallRecord, zone: tzinfo = UTC) -> dict[str, Any]:
    """recordSip / recordSipQuery: the vendor's fields, then feedbackValue, calledInfo, baseCost and
    callOrigin (how the call was placed: api, handset, phone_to_phone)."""
    return {
        "voiceId": record.voice_id,
        "sipGroupName": record.group_name,
        "phoneName": record.phone_name,
        "callee": record.callee,
        "displayNum": record.display_num,
        "code": record.code,
        **_timings(record, partial(_time, zone=zone)),
        "recordingFileId": record.recording_file_id,
        **_settlement(record),
        "feedbackValue": record.feedback_value,
        "calledInfo": record.called_info,
        "baseCost": _money(record.base_cost),
        "callOrigin": record.origin,
    }


def group_call(record: CallRecord, zone: tzinfo = UTC) -> dict[str, Any]:
    """recordGroupQuery's record shape."""
    return {
        "voiceId": record.voice_id,
        "callee": record.callee,
        "displayNum": record.display_num,
        "code": record.code,
        **_timings(record, partial(_time, zone=zone)),
        "baseCost": _money(record.base_cost),
        "voiceFileId": record.recording_file_id,
        "feedbackValue": record.feedback_value,
        "calledInfo": record.called_info,
        **_settlement(record),
    }


def report_type(record: CallRecord) -> int:
    """The report's ``type``: 3 for a call invoked through sendSip, 4 for one dialled on a handset
    (to the trunk or to a colleague): the vendor's values, from how the record says it was placed."""
    return call_origin.report_type(record.origin)


def push_report(record: CallRecord, event_id: str, sequence: int) -> dict[str, Any]:
    """The status report push of a settled call: the vendor's report fields and formats (times in
    epoch ms), then sipline's eventId (the webhook-id) and per-call sequence."""
    code = record.termination_code
    return {
        "voiceId": record.voice_id,
        "type": report_type(record),
        "callee": record.callee,
        "displayNum": record.display_num,
        "code": record.code,
        **_timings(record, epoch_millis),
        "ringDuration": ring_duration(record.ringing_time, record.answer_time, record.hangup_time),
        "recordingFileId": record.recording_file_id,
        "baseCost": _money(record.base_cost),
        **_settlement(record),
        "sipCode": int(code) if code is not None and code.isdigit() else None,
        "feedbackValue": record.feedback_value,
        "calledInfo": record.called_info,
        "event": "report",
        "eventId": event_id,
        "sequence": sequence,
    }


def push_event(record: CallRecord, event: str, at: datetime, event_id: str, sequence: int) -> dict[str, Any]:
    """A sipline extension event (``ringing``: the callee rings; ``answered``: the callee answered),
    pushed as it happens, with the call's identity and the moment (epoch ms)."""
    return {
        "voiceId": record.voice_id,
        "type": report_type(record),
        "callee": record.callee,
        "displayNum": record.display_num,
        "submitTime": epoch_millis(record.submit_time),
        "ringingTime" if event == "ringing" else "answerTime": epoch_millis(at),
        "event": event,
        "eventId": event_id,
        "sequence": sequence,
    }
