"""RFC 4733 telephone-event decoding: each key press reported once, in order.

All packets of one event share its RTP timestamp; the end packet is sent three times, and any of
them may be lost. So an event is reported on the first packet seen of it (start, update or end),
and the last few events are remembered so that late retransmits are not reported again.
Recorded streams replayed back to back (SIPp's pcaps) may repeat a timestamp for the next press:
a non-end packet newer than the event's end and with a shorter duration starts a new press.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

DIGITS = "0123456789*#ABCD"  # events 0-15; 16 (flash) and above are not key presses
_REMEMBERED = 8


class DtmfDecoder:
    __slots__ = ("_current", "_end_duration", "_end_seq", "_ended", "_recent", "_report")

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._recent: deque[tuple[int, int, int]] = deque(maxlen=_REMEMBERED)
        self._current: tuple[int, int, int] | None = None
        self._ended = False
        self._end_seq = 0
        self._end_duration = 0

    def packet(self, seq: int, ssrc: int, timestamp: int, payload: bytes) -> None:
        """One telephone-event RTP payload (seq, SSRC and timestamp from its header)."""
        if len(payload) < 4 or payload[0] >= len(DIGITS):
            return
        event, end, duration = payload[0], payload[1] & 0x80, (payload[2] << 8) | payload[3]
        key = (ssrc, timestamp, event)
        if key == self._current:
            if self._ended and not end and _newer(seq, self._end_seq) and duration < self._end_duration:
                self._start(key, end, seq, duration)  # the same digit pressed again, same timestamp
            elif end and not self._ended:
                self._ended, self._end_seq, self._end_duration = True, seq, duration
            return
        if key in self._recent:
            return  # a late packet of an event already reported
        self._recent.append(key)
        self._start(key, end, seq, duration)

    def _start(self, key: tuple[int, int, int], end: int, seq: int, duration: int) -> None:
        self._current = key
        self._ended, self._end_seq, self._end_duration = bool(end), seq, duration
        self._report(DIGITS[key[2]])


def _newer(seq: int, than: int) -> bool:
    """RTP sequence numbers wrap at 2^16: ``seq`` comes after ``than``."""
    return 0 < ((seq - than) & 0xFFFF) < 0x8000
