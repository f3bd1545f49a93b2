"""Request bodies of the voice API. Names and types are the vendor's; rules come from the domain.

Numbers may arrive as strings ("current": "1", as the vendor's PHP sample sends) and string fields
may arrive as JSON numbers; both are accepted. Unknown extra fields are ignored.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sipline.domain import calls, validation
from sipline.domain.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE


def _integer(value: Any) -> Any:
    # JSON true/false are not counts, although Python would take them as 1 and 0.
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    # Integers past 64 bits reach us as floats (orjson); pydantic would refuse them with a message
    # about parsing strings, rather than with the field's bounds.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def documented(**keywords: Any) -> Any:
    """JSON Schema keywords for the OpenAPI document only: the domain rule checks, and names the field."""
    return Field(json_schema_extra=keywords)


Int = Annotated[int, BeforeValidator(_integer)]
Name = Annotated[
    str,
    AfterValidator(validation.name),
    documented(minLength=validation.NAME_MIN, maxLength=validation.NAME_MAX),
]
NamePrefix = Annotated[
    str,
    AfterValidator(lambda value: validation.name(value, minimum=1)),
    documented(minLength=1, maxLength=validation.NAME_MAX - 2),
]
DisplayNum = Annotated[
    str,
    AfterValidator(validation.display_num),
    documented(pattern=f"^[0-9]{{{validation.DISPLAY_NUM_MIN},{validation.DISPLAY_NUM_MAX}}}$"),
]
Identifier = Annotated[str, AfterValidator(validation.identifier), documented(minLength=1, maxLength=64)]


class WireModel(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="ignore", populate_by_name=True)


class SipAddRequest(WireModel):
    group_name: Name = Field(
        alias="groupName", description="Phone group name, 4-32 characters, unique in the app."
    )
    phone_name: NamePrefix = Field(
        alias="phoneName",
        description="Phones are named <phoneName>-1..N; each name 4-32 characters, unique in the app.",
    )
    quantity: Int = Field(ge=validation.QUANTITY_MIN, le=validation.QUANTITY_MAX, description="Phones, 1-50.")
    display_num: DisplayNum = Field(alias="displayNum", description="Caller number, 7-13 digits.")
    app_id: Identifier = Field(alias="appId", description="Voice application id.")

    @model_validator(mode="after")
    def _names_fit(self) -> "SipAddRequest":
        validation.phone_names(self.phone_name, self.quantity)
        return self


class PagedRequest(WireModel):
    current: Int = Field(1, ge=1, le=MAX_PAGE, description=f"Page number, 1-{MAX_PAGE}.")
    size: Int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Records per page, 1-100.")


class AppParams(WireModel):
    app_id: Identifier = Field(alias="appId")


class SipQueryRequest(PagedRequest):
    params: AppParams


class SipResetRequest(WireModel):
    account: Identifier = Field(description="SIP account of the phone.")
    app_id: Identifier = Field(alias="appId")


class SipDeleteRequest(SipResetRequest):
    """sipline's extension: the same body as sipReset."""


class HangupRequest(WireModel):
    voice_id: Identifier = Field(alias="voiceId", description="The voiceId sendSip answered.")


class WindowParams(WireModel):
    str_time: str = Field(
        alias="strTime", description="Start, ISO 8601 with offset: 2022-01-01T00:00:00+08:00."
    )
    end_time: str = Field(
        alias="endTime", description="End, ISO 8601 with offset; at most 31 days after strTime."
    )


class RecordGroupQueryRequest(PagedRequest):
    params: WindowParams


class PhoneWindowParams(WindowParams):
    # Names as sipAdd made them: a filter no phone could have is refused (PostgreSQL refuses NUL anyway).
    sip_group_name: Name | None = Field(None, alias="sipGroupName", description="Only this phone group.")
    phone_name: Name | None = Field(None, alias="phoneName", description="Only this phone.")


class RecordSipQueryRequest(PagedRequest):
    params: PhoneWindowParams


class SendSipRequest(WireModel):
    callee: Annotated[
        str,
        AfterValidator(calls.callee),
        documented(pattern=f"^\\+?[0-9]{{{calls.CALLEE_MIN},{calls.CALLEE_MAX}}}$"),
    ] = Field(description="Number to call, 3-20 digits (international, an optional leading +).")
    display_num: DisplayNum = Field(
        alias="displayNum", description="Caller ID shown to the callee, 7-13 digits."
    )
    account: Identifier = Field(description="SIP account of the phone that places the call.")
    app_id: Identifier = Field(alias="appId", description="Voice application id of the phone.")
    called_info: Annotated[
        str, AfterValidator(calls.called_info), documented(maxLength=calls.CALLED_INFO_MAX)
    ] = Field(
        "", alias="calledInfo", description="Free text kept with the call record, at most 1000 characters."
    )
