"""Parse/serialize throughput for a typical INVITE on one core.

Like real traffic, every INVITE is a new call: its own From tag, Call-ID and Via branch (10,000
distinct messages, cycled), so the parser's caches of repeated URIs help as they would on the wire
and the From header is parsed anew each time.

Run: python -m bench.sip.parse_bench   (or python bench/sip/parse_bench.py)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sipline.sip.message import SipMessage, parse_message

T = TypeVar("T")

SDP = (
    b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\ns=-\r\n"
    b"c=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:150\r\na=sendrecv\r\n"
)
INVITE = (
    b"INVITE sip:bob@sipline.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9-1c2e;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@sipline.example.com>;tag=9fxced76sl\r\n'
    b"To: <sip:bob@sipline.example.com>\r\n"
    b"Call-ID: 3848276298220188511@192.0.2.101\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.101:5060;transport=udp>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)


def distinct_invites(count: int) -> list[bytes]:
    """``count`` INVITEs of distinct calls (From tag, Call-ID, branch), same parties and SDP."""
    return [
        INVITE.replace(b"9fxced76sl", b"t%08d" % i)
        .replace(b"3848276298220188511", b"c%018d" % i)
        .replace(b"74bf9-1c2e", b"b%08d" % i)
        for i in range(count)
    ]


def rate(label: str, fn: Callable[[T], object], messages: Sequence[T], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(messages[i % len(messages)])
    per_second = n / (time.perf_counter() - start)
    print(f"{label:<44} {per_second:>10,.0f} /s")
    return per_second


def main() -> None:
    n = 100_000
    messages = distinct_invites(10_000)
    print(f"INVITE {len(INVITE)} bytes, SDP {len(SDP)} bytes, {n:,} iterations over {len(messages):,} calls")
    rate("parse_message (lazy: start line + headers)", parse_message, messages, n)

    def parse_and_validate(data: bytes) -> None:
        parse_message(data).validate()  # Via, From, To, CSeq, Call-ID, R-URI parsed

    rate("parse_message + validate()", parse_and_validate, messages, n)
    parsed = [parse_message(data) for data in messages]
    rate("to_bytes (serializer)", SipMessage.to_bytes, parsed, n)


if __name__ == "__main__":
    main()
