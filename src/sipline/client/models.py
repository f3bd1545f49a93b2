"""What the voice API answers, as typed Python objects."""

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SiplineError(Exception):
    """The API refused the call: `status` is the vendor's code ("-22"), `reason` its explanation."""

    def __init__(self, status: str, reason: str, http_status: int | None = None) -> None:
        super().__init__(f"[{status}] {reason}")
        self.status = status
        self.reason = reason
        self.http_status = http_status


@dataclass(frozen=True)
class Phone:
    group_name: str
    phone_name: str
    account: str
    password: str
    display_num: str
    # Fields the server sends beyond the vendor's five (e.g. registration state), as received.
    extra: dict[str, Any] = field(default_factory=dict)

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
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    total: int
    size: int
    current: int
    pages: int
    records: list[T]
