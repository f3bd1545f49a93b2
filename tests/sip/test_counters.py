"""The SIP stack's message counters: what they count, and that a peer cannot grow their labels."""

from sipline.sip.counters import KNOWN_METHODS, SipCounters


def test_requests_and_responses_by_direction() -> None:
    counters = SipCounters()
    for method in ("REGISTER", "REGISTER", "INVITE", "FOO", "BAR"):
        counters.received_request(method)
    for status in (100, 180, 200, 486, 603):
        counters.received_response(status)
    for data in (
        b"SIP/2.0 401 Unauthorized\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\n\r\n",
        b"BYE sip:a@b SIP/2.0\r\n\r\n",
        b"garbage",
    ):
        counters.sent(data)
    assert counters.requests() == {
        ("in", "REGISTER"): 2,
        ("in", "INVITE"): 1,
        ("in", "OTHER"): 2,
        ("out", "INVITE"): 1,
        ("out", "BYE"): 1,
        ("out", "OTHER"): 1,
    }
    assert counters.responses() == {
        ("in", "1xx"): 2,
        ("in", "2xx"): 1,
        ("in", "4xx"): 1,
        ("in", "6xx"): 1,
        ("out", "4xx"): 1,
        ("out", "2xx"): 1,
    }


def test_every_counted_method_is_told_apart_on_the_way_out() -> None:
    counters = SipCounters()
    for method in KNOWN_METHODS:
        counters.sent(f"{method} sip:a@b SIP/2.0\r\n\r\n".encode())
    assert counters.requests() == {("out", method): 1 for method in KNOWN_METHODS}
