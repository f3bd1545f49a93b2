"""One function per endpoint, building the request and the parser of its answer (no I/O here).

The sync and async clients only differ in how they send a `Call`.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from sipline.client import models
from sipline.client.models import CallRecord, Page, Phone, RecordingUrl, SiplineError
from sipline.domain.signing import compute_sign

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    body: dict[str, Any] | None
    parse: Callable[[Any], T]
    # A query: sending it twice changes nothing, so it may be retried when no answer came back.
    idempotent: bool = False
    # The answer's fields are beside `status` rather than in `data` (getBalance, the vendor's shape).
    top_level: bool = False


def signed_headers(api_key: str, api_secret: str, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": compute_sign(api_key, api_secret, timestamp),
        "Timestamp": timestamp,
        "Api-Key": api_key,
    }


def unwrap(http_status: int, payload: Any) -> Any:
    """The `data` of a successful envelope; a SiplineError otherwise."""
    if not isinstance(payload, dict) or "status" not in payload:
        raise SiplineError("-18", f"HTTP {http_status}: the answer is not a voice API envelope", http_status)
    if str(payload["status"]) != "0":
        raise SiplineError(str(payload["status"]), str(payload.get("reason", "")), http_status)
    return payload.get("data")


def answer(call: Call[T], http_status: int, body: bytes) -> T:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    data = unwrap(http_status, payload)
    return call.parse(payload if call.top_level else data)


def _none(_data: Any) -> None:
    return None


def _str(data: Any) -> str:
    return str(data)


def _page_of(parse: Callable[[dict[str, Any]], T]) -> Callable[[Any], Page[T]]:
    def parse_page(data: Any) -> Page[T]:
        return Page(
            total=int(data["total"]),
            size=int(data["size"]),
            current=int(data["current"]),
            pages=int(data["pages"]),
            records=[parse(record) for record in data["records"]],
        )

    return parse_page


def sip_add(app_id: str, group_name: str, phone_name: str, quantity: int, display_num: str) -> Call[None]:
    body = {
        "groupName": group_name,
        "phoneName": phone_name,
        "quantity": quantity,
        "displayNum": display_num,
        "appId": app_id,
    }
    return Call("POST", "/voice/sipAdd", body, _none)


def sip_query(app_id: str, current: int = 1, size: int = 25) -> Call[Page[Phone]]:
    body = {"current": current, "size": size, "params": {"appId": app_id}}
    return Call("POST", "/voice/sipQuery", body, _page_of(Phone.from_wire), idempotent=True)


def sip_reset(app_id: str, account: str) -> Call[str]:
    return Call("POST", "/voice/sipReset", {"account": account, "appId": app_id}, _str)


def send_sip(app_id: str, account: str, callee: str, display_num: str, called_info: str = "") -> Call[str]:
    body = {
        "callee": callee,
        "displayNum": display_num,
        "account": account,
        "appId": app_id,
        "calledInfo": called_info,
    }
    return Call("POST", "/voice/sendSip", body, _str)


def record_sip(voice_id: str) -> Call[CallRecord]:
    path = f"/voice/recordSip/{quote(voice_id, safe='')}"
    return Call("GET", path, None, CallRecord.from_wire, idempotent=True)


def record_group_query(
    str_time: str, end_time: str, current: int = 1, size: int = 25
) -> Call[Page[CallRecord]]:
    body = {"current": current, "size": size, "params": {"strTime": str_time, "endTime": end_time}}
    return Call("POST", "/voice/recordGroupQuery", body, _page_of(CallRecord.from_wire), idempotent=True)


def record_sip_query(
    str_time: str,
    end_time: str,
    current: int = 1,
    size: int = 25,
    sip_group_name: str | None = None,
    phone_name: str | None = None,
) -> Call[Page[CallRecord]]:
    params: dict[str, Any] = {"strTime": str_time, "endTime": end_time}
    if sip_group_name is not None:
        params["sipGroupName"] = sip_group_name
    if phone_name is not None:
        params["phoneName"] = phone_name
    body = {"current": current, "size": size, "params": params}
    return Call("POST", "/voice/recordSipQuery", body, _page_of(CallRecord.from_wire), idempotent=True)


def recording_url(recording_file_id: str, source_type: str = "sip") -> Call[RecordingUrl]:
    query = urlencode({"recordingFileId": recording_file_id, "sourceType": source_type})
    return Call("GET", f"/voice/getRecordingFileUrl?{query}", None, RecordingUrl.from_wire, idempotent=True)


def get_balance() -> Call[models.AccountBalance]:
    parse = models.AccountBalance.from_wire
    # The vendor serves it on this path only (its account API): so the SDK works against either.
    return Call("GET", "/sms/getBalance", None, parse, idempotent=True, top_level=True)


def ledger_query(
    current: int = 1, size: int = 25, str_time: str | None = None, end_time: str | None = None
) -> Call[Page[models.LedgerEntry]]:
    given = {"current": current, "size": size, "strTime": str_time, "endTime": end_time}
    path = f"/voice/ledgerQuery?{urlencode({k: v for k, v in given.items() if v is not None})}"
    return Call("GET", path, None, _page_of(models.LedgerEntry.from_wire), idempotent=True)
