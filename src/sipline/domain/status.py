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
