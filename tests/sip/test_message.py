"""Parser/serializer behaviour beyond the torture corpus, plus mutation fuzzing."""

from __future__ import annotations

import contextlib
import random

import pytest

from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse, make_response, parse_message

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928301774\r\n'
    b"To: Bob <sip:bob@example.com>\r\n"
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.1:5060;transport=udp>, <sip:alice@198.51.100.7>;q=0.5\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 10\r\n\r\n"
    b"v=0\r\ns=-\r\n"
)


def test_parse_and_roundtrip() -> None:
    msg = parse_message(INVITE)
    msg.validate()
    assert isinstance(msg, SipRequest)
    assert msg.top_via.params == {"branch": "z9hG4bK776asdhds", "rport": None}
    assert [str(c.uri) for c in msg.contacts] == [
        "sip:alice@192.0.2.1:5060;transport=udp",
        "sip:alice@198.51.100.7",
    ]
    assert msg.header("CONTENT-type") == msg.header("c") == "application/sdp"
    again = parse_message(msg.to_bytes())
    assert again.fields == msg.fields and again.body == msg.body == b"v=0\r\ns=-\r\n"


def test_compact_names_are_normalised() -> None:
    data = INVITE.replace(b"Via:", b"v:").replace(b"Call-ID:", b"i:").replace(b"Content-Length:", b"l:")
    msg = parse_message(data)
    assert msg.call_id == "a84b4c76e66710@pc33.example.com"
    assert b"\r\nVia: " in msg.to_bytes() and b"\r\nCall-ID: " in msg.to_bytes()


def test_quoted_comma_does_not_split() -> None:
    data = INVITE.replace(b"Contact: <", b'Contact: "Doe, John" <sip:j@x>, <')
    msg = parse_message(data)
    assert [c.display_name for c in msg.contacts] == ['"Doe, John"', None, None]


def test_udp_body_limits() -> None:
    with pytest.raises(SipParseError):
        parse_message(INVITE[:-3])  # Content-Length larger than the datagram
    no_length = INVITE.replace(b"Content-Length: 10\r\n", b"")
    assert parse_message(no_length).body == b"v=0\r\ns=-\r\n"
    with pytest.raises(SipParseError):
        parse_message(no_length, stream=True)


def test_size_and_header_limits() -> None:
    with pytest.raises(SipParseError):
        parse_message(INVITE, max_size=100)
    many = INVITE.replace(b"Max-Forwards: 70\r\n", b"X-A: 1\r\n" * 200)
    with pytest.raises(SipParseError):
        parse_message(many)


def test_make_response_and_via_rewrite() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, SipRequest)
    via = msg.top_via
    via.params["received"] = "203.0.113.9"
    via.params["rport"] = "40000"
    msg.set_top_via(via)
    resp = make_response(msg, 180, to_tag="xyz", headers=[("Contact", "<sip:bob@192.0.2.4>")])
    parsed = parse_message(resp.to_bytes())
    assert isinstance(parsed, SipResponse) and parsed.status == 180 and parsed.reason == "Ringing"
    assert parsed.top_via.params["received"] == "203.0.113.9"
    assert parsed.to.tag == "xyz" and parsed.cseq.method == "INVITE"


def test_random_mutations_only_raise_parse_errors() -> None:
    rng = random.Random(4475)
    base = bytearray(INVITE)
    for _ in range(5000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[pos] = rng.randrange(256)
            elif action < 0.6:
                del data[pos]
            elif action < 0.8:
                data.insert(pos, rng.choice(b' \t\r\n:;,"<>@=%'))
            else:
                data[pos:pos] = data[rng.randrange(len(data)) :][: rng.randint(1, 20)]
        try:
            msg = parse_message(bytes(data))
            msg.validate()
            msg.to_bytes()
        except SipParseError:
            pass


def test_truncations_only_raise_parse_errors() -> None:
    for cut in range(len(INVITE)):
        for stream in (False, True):
            with contextlib.suppress(SipParseError):
                parse_message(INVITE[:cut], stream=stream).validate()


def test_leading_crlf_is_ignored() -> None:
    msg = parse_message(b"\r\n\r\n" + INVITE)
    assert isinstance(msg, SipRequest) and msg.method == "INVITE"
