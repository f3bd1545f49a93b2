"""What the metrics' SIP counters cost a registration, beside what parsing the same REGISTER costs.

A registration is a challenged REGISTER and an authenticated one, each answered (401, then 200): two
requests counted in and two responses counted out. Printed: nanoseconds per counter call, per
registration, and that as a share of parsing and validating its two REGISTERs (the floor of what a
registration costs: bench/sip's in-process figures put the whole at ~100 us).

Run: python -m bench.sip.counters_bench
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from sipline.sip.counters import SipCounters
from sipline.sip.message import parse_message

REGISTER = (
    b"REGISTER sip:sipline.local SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:1001@sipline.local>;tag=fa2c93\r\n"
    b"To: <sip:1001@sipline.local>\r\n"
    b"Call-ID: 8f2b1c9e4d7a@192.0.2.10\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b"Contact: <sip:1001@192.0.2.10:5060>\r\n"
    b"Expires: 300\r\n"
    b"Content-Length: 0\r\n\r\n"
)
OK = (
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1\r\nContent-Length: 0\r\n\r\n"
)


def per_call(function: Callable[[], object], number: int) -> float:
    """Best of five, seconds per call, the cost of calling an empty function taken off."""
    empty = min(timeit.repeat(lambda: None, number=number, repeat=5)) / number
    return max(0.0, min(timeit.repeat(function, number=number, repeat=5)) / number - empty)


def main() -> None:
    counters = SipCounters()
    received = per_call(lambda: counters.received_request("REGISTER"), 1_000_000)
    sent = per_call(lambda: counters.sent(OK), 1_000_000)
    parsed = per_call(lambda: parse_message(REGISTER).validate(), 20_000)
    registration = 2 * received + 2 * sent
    print(f"count a received request  {received * 1e9:7.0f} ns")
    print(f"count a sent response     {sent * 1e9:7.0f} ns")
    print(f"counting per registration {registration * 1e9:7.0f} ns")
    print(f"parse+validate a REGISTER {parsed * 1e9:7.0f} ns")
    print(f"counting / parsing a registration's two REGISTERs: {registration / (2 * parsed):.1%}")


if __name__ == "__main__":
    main()
