"""RFC 4733 telephone-event decoding: each key press reported once, in order.

All packets of one event share its RTP timestamp; the end packet is sent three times, and any of
them may be lost. So an event is reported on the first packet seen of it (start, update or end),
and the last few events are remembered so that late retransmits are not reported again.

Recorded streams replayed as they are (SIPp's ``play_pcap_audio`` sends a pcap's RTP unchanged:
every ``dtmf_2833_1.pcap`` press has the same SSRC, timestamp and sequence numbers) repeat an
event's identity for the next press of the same key. A press is therefore also new when a
non-end packet of a remembered event comes after that event ended, with a shorter duration than
its end and either a newer sequence number or more than ``REPEAT_GAP_SECONDS`` later: late
packets of one press arrive within a few packet times, a person's next press does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DIGITS = "0123456789*#ABCD"  # events 0-15; 16 (flash) and above are not key presses
REPEAT_GAP_SECONDS = 0.25
_REMEMBERED = 8

_Key = tuple[int, int, int]  # SSRC, RTP timestamp, event


class _Event:
    __slots__ = ("end_duration", "end_seq", "ended", "last_seen")

    def __init__(self, end: bool, seq: int, duration: int, now: float) -> None:
        self.ended, self.end_seq, self.end_duration, self.last_seen = end, seq, duration, now


class DtmfDecoder:
    __slots__ = ("_clock", "_current", "_recent", "_report")

    def __init__(self, report: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._report = report
        self._clock = clock
        self._recent: dict[_Key, _Event] = {}  # oldest first
        self._current: _Key | None = None

    def packet(self, seq: int, ssrc: int, timestamp: int, payload: bytes) -> None:
        """One telephone-event RTP payload (seq, SSRC and timestamp from its header)."""
        if len(payload) < 4 or payload[0] >= len(DIGITS):
            return
        key = (ssrc, timestamp, payload[0])
        end, duration = bool(payload[1] & 0x80), (payload[2] << 8) | payload[3]
        now = self._clock()
        event = self._recent.get(key)
        if event is None or self._pressed_again(event, end, seq, duration, now, key == self._current):
            self._start(key, _Event(end, seq, duration, now))
            return
        if end and not event.ended:
            event.ended, event.end_seq, event.end_duration = True, seq, duration
        event.last_seen = now

    @staticmethod
    def _pressed_again(event: _Event, end: bool, seq: int, duration: int, now: float, current: bool) -> bool:
        if end:
            return False
        later = now - event.last_seen > REPEAT_GAP_SECONDS
        if not current:  # an earlier event, over since the next began: only a later press repeats it
            return later
        return event.ended and duration < event.end_duration and (later or _newer(seq, event.end_seq))

    def _start(self, key: _Key, event: _Event) -> None:
        self._recent.pop(key, None)
        self._recent[key] = event
        if len(self._recent) > _REMEMBERED:
            del self._recent[next(iter(self._recent))]
        self._current = key
        self._report(DIGITS[key[2]])


def _newer(seq: int, than: int) -> bool:
    """RTP sequence numbers wrap at 2^16: ``seq`` comes after ``than``."""
    return 0 < ((seq - than) & 0xFFFF) < 0x8000
