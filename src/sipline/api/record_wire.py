"""Call records in the vendor's field names, order and string formats.

Times are ISO 8601 with an offset (UTC unless the query asked in another offset); money is a plain
decimal string ("1.2", "0.4"); what has not happened yet, or does not apply, is null.
"""

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sipline.store.models import CallRecord

USD = "USD"


def _time(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _timings(record: CallRecord, zone: tzinfo) -> dict[str, Any]:
    return {
        "submitTime": _time(record.submit_time, zone),
        "callTime": _time(record.call_time, zone),
        "ringingTime": _time(record.ringing_time, zone),
        "answerTime": _time(record.answer_time, zone),
        "hangupTime": _time(record.hangup_time, zone),
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
        **_timings(record, zone),
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
        **_timings(record, zone),
        "baseCost": _money(record.base_cost),
        "voiceFileId": record.recording_file_id,
        "feedbackValue": record.feedback_value,
        "calledInfo": record.called_info,
        **_settlement(record),
    }
