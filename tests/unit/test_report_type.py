"""The status push's report type follows how the record says the call was placed (the vendor's values)."""

from sipline.api.record_wire import report_type
from sipline.store.models import CallRecord


def test_a_call_dialled_on_a_handset_is_pushed_as_type_4() -> None:
    assert [report_type(CallRecord(origin=origin)) for origin in ("api", "handset", "phone_to_phone")] == [
        3,
        4,
        4,
    ]
