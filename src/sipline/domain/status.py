"""Status codes of the ITNIO voice API envelope (always sent as strings)."""

from enum import StrEnum


class Status(StrEnum):
    """The `status` field of every answer; the values are the vendor's, as strings."""

    SUCCESS = "0"
    AUTH_FAILED = "-1"
    IP_NOT_ALLOWED = "-2"
    BALANCE_INSUFFICIENT = "-10"
    USER_LOCKED = "-13"
    TIMESTAMP_EXPIRED = "-16"
    SYSTEM_ERROR = "-18"
    ALREADY_EXISTS = "-20"
    FILE_INVALID = "-21"
    PARAMETER_ERROR = "-22"
    LIMIT_REACHED = "-23"
    OUT_OF_TIME_RANGE = "-25"
    FEE_LOOKUP_FAILED = "-26"
    PHONE_NOT_IDLE = "-68"
    # sipline's own codes (the vendor publishes none for these): an account's fraud limits refused
    # the call (billing/limits.py, docs/api.md "Fraud limits").
    CONCURRENT_CALLS_LIMIT = "-80"
    CALL_RATE_LIMIT = "-81"
    DAILY_SPEND_CAP = "-82"
    DESTINATION_BARRED = "-83"
