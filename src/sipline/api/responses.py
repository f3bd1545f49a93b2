"""Answer shapes, for the OpenAPI reference (handlers build the JSON directly, in wire order)."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    status: str = Field(description='"0" on success, else a vendor status code such as "-22".')
    reason: str
    data: T | None = None


class PageData(BaseModel, Generic[T]):
    total: int
    size: int
    current: int
    pages: int
    records: list[T]


class PhoneRecord(BaseModel):
    """The vendor's five fields, then sipline's registration state."""

    groupName: str
    phoneName: str
    account: str
    password: str
    displayNum: str
    registered: bool = Field(description="sipline: the phone has a live SIP registration.")
    registrationExpires: str | None = Field(description="sipline: registration end (ISO 8601), or null.")
    userAgent: str | None = Field(description="sipline: User-Agent of the registered phone, or null.")


class RecordingFileUrl(BaseModel):
    url: str = Field(description="Absolute URL streaming the mp3 (audio/mpeg, HTTP Range), signed.")
    expireTime: int = Field(description="When the URL stops working, epoch milliseconds.")
