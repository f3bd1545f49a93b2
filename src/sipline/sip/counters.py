"""What the SIP stack counts: plain integers bumped on the message path, read by whoever exports them.

Thousands of messages a second pass here, so counting is a dict or list update, nothing more;
turning the counts into metrics (names, labels) is the exporter's job, at scrape time.
"""

from __future__ import annotations

# The methods the stack knows (RFC 3261's and the common extensions'): counted by name, while any other
# token a peer sends is counted as OTHER (bounded cardinality).
KNOWN_METHODS = frozenset(
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
# The first three bytes tell every counted method apart: they key what is sent, which costs one slice
# (finding the space after the method cost three times as much).
_BY_PREFIX = {method[:3].encode(): method for method in KNOWN_METHODS}
_RESPONSE = b"SIP"
_FIRST_DIGIT = len(b"SIP/2.0 ")


class SipCounters:
    """Messages in and out (requests by method, responses by class) and retransmissions."""

    __slots__ = (
        "requests_in",
        "responses_in",
        "retransmissions_in",
        "retransmissions_out",
        "sent_counts",
    )

    def __init__(self) -> None:
        self.requests_in: dict[str, int] = {}
        self.sent_counts: dict[bytes | int, int] = {}  # requests and responses: see sent()
        self.responses_in = [0] * 7  # by class: index 1 is 1xx ... 6 is 6xx
        self.retransmissions_in = 0  # requests that matched a transaction already under way
        self.retransmissions_out = 0  # requests and responses re-sent by a retransmission timer

    def received_request(self, method: str) -> None:
        key = method if method in KNOWN_METHODS else OTHER
        self.requests_in[key] = self.requests_in.get(key, 0) + 1

    def received_response(self, status: int) -> None:
        self.responses_in[status // 100] += 1  # the parser admits 100..699 only

    def sent(self, data: bytes) -> None:
        """Count a message by its serialised start line (what the stack sends is bytes): requests by
        the method's first three bytes, responses by the byte value of the status code's first digit."""
        key: bytes | int = data[:3]
        if key == _RESPONSE:
            key = data[_FIRST_DIGIT]
        self.sent_counts[key] = self.sent_counts.get(key, 0) + 1

    def requests(self) -> dict[tuple[str, str], int]:
        """Requests by (direction, method)."""
        counted = {("in", method): n for method, n in self.requests_in.items()}
        for prefix, n in self.sent_counts.items():
            if isinstance(prefix, bytes):
                key = ("out", _BY_PREFIX.get(prefix, OTHER))
                counted[key] = counted.get(key, 0) + n
        return counted

    def responses(self) -> dict[tuple[str, str], int]:
        """Responses by (direction, class), the class written 1xx ... 6xx."""
        counted = {("in", f"{cls}xx"): n for cls, n in enumerate(self.responses_in) if n}
        for digit, n in self.sent_counts.items():
            if isinstance(digit, int):
                cls = digit - ord("0")
                key = ("out", f"{cls}xx" if 1 <= cls <= 6 else OTHER)
                counted[key] = counted.get(key, 0) + n
        return counted
