"""What the voice API answers, as typed Python objects."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SiplineClientError(Exception):
    """Anything the SDK raises: the API refused the call (`SiplineError`) or was not reached."""


class SiplineError(SiplineClientError):
    """The API refused the call: `status` is the vendor's code ("-22"), `reason` its explanation."""

    def __init__(self, status: str, reason: str, http_status: int | None = None) -> None:
        super().__init__(f"[{status}] {reason}")
        self.status = status
        self.reason = reason
        self.http_status = http_status


class SiplineTransportError(SiplineClientError):
    """No answer from the API at `base_url`: refused or dropped connection, timeout, bad URL scheme.

    The httpx exception is the `__cause__`. A request that fails this way may or may not have been
    carried out by the server (e.g. a sendSip whose answer timed out).
    """

    def __init__(self, base_url: str, detail: str) -> None:
        super().__init__(f"cannot reach the voice API at {base_url}: {detail}")
        self.base_url = base_url
        self.detail = detail


@dataclass(frozen=True)
class Phone:
    group_name: str
    phone_name: str
    account: str
    password: str
    display_num: str
    # Fields the server sends beyond the vendor's five (e.g. registration state), as received.
    extra: dict[str, Any] = field(default_factory=dict)
    # The whole record as received, in the API's own field names.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> "Phone":
        known = {"groupName", "phoneName", "account", "password", "displayNum"}
        return cls(
            group_name=str(raw.get("groupName", "")),
            phone_name=str(raw.get("phoneName", "")),
            account=str(raw.get("account", "")),
            password=str(raw.get("password", "")),
            display_num=str(raw.get("displayNum", "")),
            extra={key: value for key, value in raw.items() if key not in known},
            raw=dict(raw),
        )


@dataclass(frozen=True)
class CallRecord:
    """A call record as the API shows it (strings as sent: times ISO 8601, money decimal strings)."""

    voice_id: str
    callee: str
    display_num: str
    code: str | None
    submit_time: str | None
    call_time: str | None
    ringing_time: str | None
    answer_time: str | None
    hangup_time: str | None
    call_duration: int
    charged_duration: int
    termination_code: str | None
    termination_reason: str | None
    cost: str | None
    bill_period: str | None
    rate: str | None
    recording_file_id: str | None
    feedback_value: str | None
    called_info: str | None
    base_cost: str | None
    settle_rate: str | None
    quote_exchange: str | None
    currency: str | None
    settle_pay: str | None
    sip_group_name: str | None = None
    phone_name: str | None = None
    call_origin: str | None = None  # "api", "handset", "phone_to_phone" (sipline's own field)
    # The whole record as received, in the API's own field names and order.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> "CallRecord":
        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else str(value)

        return cls(
            voice_id=str(raw.get("voiceId", "")),
            callee=str(raw.get("callee", "")),
            display_num=str(raw.get("displayNum", "")),
            code=text("code"),
            submit_time=text("submitTime"),
            call_time=text("callTime"),
            ringing_time=text("ringingTime"),
            answer_time=text("answerTime"),
            hangup_time=text("hangupTime"),
            call_duration=int(raw.get("callDuration") or 0),
            charged_duration=int(raw.get("chargedDuration") or 0),
            termination_code=text("terminationCode"),
            termination_reason=text("terminationReason"),
            cost=text("cost"),
            bill_period=text("billPeriod"),
            rate=text("rate"),
            # The vendor names the recording recordingFileId on recordSip and voiceFileId on group queries.
            recording_file_id=text("recordingFileId") or text("voiceFileId"),
            feedback_value=text("feedbackValue"),
            called_info=text("calledInfo"),
            base_cost=text("baseCost"),
            settle_rate=text("settleRate"),
            quote_exchange=text("quoteExchange"),
            currency=text("currency"),
            settle_pay=text("settlePay"),
            sip_group_name=text("sipGroupName"),
            phone_name=text("phoneName"),
            call_origin=text("callOrigin"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class RecordingUrl:
    """A signed link streaming a recording's mp3 (HTTP Range works), valid until `expire_time`."""

    url: str
    expire_time: int  # epoch milliseconds, as the API sends it

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expire_time / 1000, UTC)

    @classmethod
    def from_wire(cls, raw: Any) -> "RecordingUrl":
        return cls(url=str(raw["url"]), expire_time=int(raw["expireTime"]))


@dataclass(frozen=True)
class AccountBalance:
    """getBalance: what the account can spend now (its calls in progress hold the rest)."""

    balance: Decimal
    gift: Decimal
    credit: Decimal

    @classmethod
    def from_wire(cls, raw: Any) -> "AccountBalance":
        return cls(Decimal(str(raw["balance"])), Decimal(str(raw["gift"])), Decimal(str(raw["credit"])))


@dataclass(frozen=True)
class LedgerEntry:
    """One change of the balance (ledgerQuery): kind topup, adjust, reserve, release or call."""

    id: int
    kind: str
    amount: Decimal
    balance_after: Decimal
    reference: str
    created_at: datetime

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> "LedgerEntry":
        return cls(
            id=int(raw["id"]),
            kind=str(raw["kind"]),
            amount=Decimal(str(raw["amount"])),
            balance_after=Decimal(str(raw["balanceAfter"])),
            reference=str(raw["reference"]),
            created_at=datetime.fromisoformat(str(raw["createdAt"])),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    total: int
    size: int
    current: int
    pages: int
    records: list[T]
