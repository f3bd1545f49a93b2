"""What the SIP stack counts: plain integers bumped on the message path, read by whoever exports them.

Thousands of messages a second pass here, so counting is a dict or list update, nothing more;
turning the counts into metrics (names, labels) is the exporter's job, at scrape time.
"""

from __future__ import annotations

# Methods counted by name; any other token a peer sends is counted as OTHER (bounded cardinality).
COUNTED_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)
OTHER = "OTHER"
_RESPONSE_PREFIX = b"SIP/2.0 "
_FIRST_DIGIT = len(_RESPONSE_PREFIX)


class SipCounters:
    """Messages in and out (requests by method, responses by class) and retransmissions."""

    __slots__ = (
        "requests_in",
        "requests_out",
        "responses_in",
        "responses_out",
        "retransmissions_in",
        "retransmissions_out",
    )

    def __init__(self) -> None:
        self.requests_in: dict[str, int] = {}
        self.requests_out: dict[bytes, int] = {}  # by the method's bytes: nothing decoded on the way out
        self.responses_in = [0] * 7  # by class: index 1 is 1xx ... 6 is 6xx
        self.responses_out: dict[int, int] = {}  # by the byte value of the status code's first digit
        self.retransmissions_in = 0  # requests that matched a transaction already under way
        self.retransmissions_out = 0  # requests and responses re-sent by a retransmission timer

    def received_request(self, method: str) -> None:
        key = method if method in COUNTED_METHODS else OTHER
        self.requests_in[key] = self.requests_in.get(key, 0) + 1

    def received_response(self, status: int) -> None:
        self.responses_in[status // 100] += 1  # the parser admits 100..699 only

    def sent(self, data: bytes) -> None:
        """Count a message by its serialised start line (what the stack sends is bytes)."""
        if data.startswith(_RESPONSE_PREFIX):
            digit = data[_FIRST_DIGIT]
            self.responses_out[digit] = self.responses_out.get(digit, 0) + 1
            return
        end = data.find(b" ", 0, 32)
        method = data[:end] if end > 0 else b"OTHER"
        self.requests_out[method] = self.requests_out.get(method, 0) + 1

    def requests(self) -> dict[tuple[str, str], int]:
        """Requests by (direction, method)."""
        counted = {("in", method): n for method, n in self.requests_in.items()}
        for raw, n in self.requests_out.items():
            method = raw.decode("ascii", "replace")
            key = ("out", method if method in COUNTED_METHODS else OTHER)
            counted[key] = counted.get(key, 0) + n
        return counted

    def responses(self) -> dict[tuple[str, str], int]:
        """Responses by (direction, class), the class written 1xx ... 6xx."""
        counted = {("in", f"{cls}xx"): n for cls, n in enumerate(self.responses_in) if n}
        for digit, n in self.responses_out.items():
            cls = digit - ord("0")
            key = ("out", f"{cls}xx" if 1 <= cls <= 6 else OTHER)
            counted[key] = counted.get(key, 0) + n
        return counted
