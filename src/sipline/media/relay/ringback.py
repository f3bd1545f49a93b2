"""The ringback tone as RTP towards one leg: its own SSRC, sequence and timestamps, 20 ms a frame."""

from __future__ import annotations

import secrets
import struct

from sipline.media.tones import FRAME_SAMPLES, RINGBACK

_HEADER = struct.Struct("!BBHII")


class RingbackStream:
    __slots__ = ("_frames", "_index", "_pt", "_seq", "_ssrc", "_timestamp")

    def __init__(self, codec: str, pt: int) -> None:
        self._frames = RINGBACK[codec]
        self._pt = pt
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._index = 0

    def next_packet(self) -> bytes:
        marker = 0x80 if self._index == 0 else 0  # a talkspurt starts
        packet = _HEADER.pack(0x80, marker | self._pt, self._seq, self._timestamp, self._ssrc)
        packet += self._frames[self._index]
        self._index = (self._index + 1) % len(self._frames)
        self._seq = (self._seq + 1) & 0xFFFF
        self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        return packet
