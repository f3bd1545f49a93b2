"""How a call was placed: through the API (sendSip), dialled from a handset, or phone to phone.

The record keeps it (``call_records.origin``); the status push derives its report type from it.
"""

from enum import StrEnum


class CallOrigin(StrEnum):
    API = "api"  # sendSip: the platform rang the agent's phone, then the callee
    HANDSET = "handset"  # a registered phone dialled an outside number, through the app's trunk
    PHONE_TO_PHONE = "phone_to_phone"  # a registered phone dialled another phone of its app


# The status push's report types (the vendor's numbering): 3 for API-invoked calls,
# 4 for "telephone direct dialing", which covers both kinds of call dialled on a handset.
API_REPORT_TYPE = 3
DIRECT_DIALING_REPORT_TYPE = 4


def report_type(origin: CallOrigin | str) -> int:
    """The status push's ``type`` for a call placed this way (an unknown value counts as the API's)."""
    if origin in (CallOrigin.HANDSET, CallOrigin.PHONE_TO_PHONE):
        return DIRECT_DIALING_REPORT_TYPE
    return API_REPORT_TYPE
