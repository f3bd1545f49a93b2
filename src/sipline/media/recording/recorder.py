"""The recorder: one call's audio, both legs, written to the spool as it comes.

Each leg is one mono channel (agent left, callee right) in its own 16-bit little-endian PCM file,
each sample at the offset its RTP timestamp gives it, so lost and late packets leave silence in the
right place (a file's holes read as zeros) and duplicates overwrite the same samples:

- a leg's first packet is placed where the wall clock says, relative to the recording's start,
  so the two legs line up; later packets at that anchor plus their timestamp's distance from the
  anchoring packet's (mod 2**32, so timestamps wrap);
- a new SSRC, or a timestamp that puts a packet further than ``max_skew_seconds`` from where the
  wall clock expects it (a sender that restarted its clock, a hostile jump), re-anchors by wall
  clock; the last confirmed anchoring is kept, so one stray packet does not move the stream;
- nothing is ever placed past ``max_duration_seconds`` (no huge sparse file from a timestamp).

Recordings are 8 kHz (G.711), or 16 kHz when the call's first audio is G.722.

``audio()`` is on the relay's hot path: it decodes and keeps the PCM in memory; ``flush()`` (the
relay calls it about once a second) writes it with ``os.pwrite`` at its offsets. A write error
(disk full, quota, I/O) ends the recording, not the call: logged once, ``on_failure`` told once,
further audio ignored, nothing raised.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sipline.media.port import Leg, RawRecording
from sipline.media.recording.layout import raw_recording, recording_directory, write_metadata
from sipline.media.recording.pcm import (
    SAMPLE_WIDTH,
    Decoder,
    G722Decoder,
    doubled,
    pcma_to_pcm,
    pcmu_to_pcm,
)

log = logging.getLogger("sipline.media.recording")

# PCMU, PCMA and G722 all run their RTP clock at 8 kHz (G.722's, though it samples at 16 kHz, by
# RFC 3551), so positions are kept in those units and scaled to the recording's sample rate.
RTP_CLOCK_RATE = 8000
NARROWBAND = 8000  # a G.711 call's recording
WIDEBAND = 16000  # a G.722 call's recording
_NARROWBAND_G711: dict[str, Decoder] = {"PCMU": pcmu_to_pcm, "PCMA": pcma_to_pcm}
_WIDEBAND_G711: dict[str, Decoder] = {
    "PCMU": lambda payload: doubled(pcmu_to_pcm(payload)),
    "PCMA": lambda payload: doubled(pcma_to_pcm(payload)),
}
_WRAP = 1 << 32
_HALF_WRAP = 1 << 31
# Audio held between flushes is about a second; a peer scattering packets over the whole skew
# window could hold more, so past this a channel is written at once (rare, and amortised).
_MAX_PENDING_BYTES = 1 << 20


class _Anchor:
    """One stream's mapping of RTP timestamps to sample positions (in RTP clock ticks)."""

    __slots__ = ("confirmed", "position", "ssrc", "timestamp")

    def __init__(self, ssrc: int, timestamp: int, position: int) -> None:
        self.ssrc = ssrc
        # The packet placed furthest so far: others are placed by their signed distance from it,
        # which keeps the distance small however often the 32-bit timestamp wraps.
        self.timestamp = timestamp
        self.position = position
        self.confirmed = False  # a second packet fitted it: a stream, not one stray packet

    def place(self, timestamp: int, expected: int, max_skew: int) -> int | None:
        """The packet's position, or None when it is implausibly far from the wall clock's."""
        position = self.position + _signed(timestamp - self.timestamp)
        if abs(position - expected) > max_skew:
            return None
        self.confirmed = True
        if position > self.position:
            self.timestamp, self.position = timestamp, position
        return position


class _Track:
    """Where one leg's packets land in its channel.

    Besides the current anchoring it keeps the last confirmed one before it, so that a stray
    packet (a hostile timestamp, a straggler of the previous SSRC) neither moves the stream nor
    is placed by a wrong anchoring.
    """

    __slots__ = ("current", "previous")

    def __init__(self) -> None:
        self.current: _Anchor | None = None
        self.previous: _Anchor | None = None

    def place(self, ssrc: int, timestamp: int, expected: int, max_skew: int) -> int:
        current = self.current
        if current is not None and current.ssrc == ssrc:
            position = current.place(timestamp, expected, max_skew)
            if position is not None:
                return position
        previous = self.previous
        if previous is not None and previous.ssrc == ssrc:
            position = previous.place(timestamp, expected, max_skew)
            if position is not None:
                self.current, self.previous = previous, current
                return position
        if current is not None and current.confirmed:
            self.previous = current
        self.current = _Anchor(ssrc, timestamp, expected)  # re-anchored by the wall clock
        return expected


def _signed(delta: int) -> int:
    """A 32-bit timestamp difference as the nearest signed distance."""
    delta %= _WRAP
    return delta - _WRAP if delta >= _HALF_WRAP else delta


class _Channel:
    """One channel's file and the PCM placed since the last flush (byte offset -> samples)."""

    __slots__ = ("fd", "g722", "g722_ssrc", "path", "pending", "pending_bytes", "track")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.track = _Track()
        self.fd: int | None = None  # opened at the first write: a silent leg leaves no file
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.g722: G722Decoder | None = None
        self.g722_ssrc = -1

    def g722_decoder(self, ssrc: int, sample_rate: int) -> G722Decoder:
        """The leg's G.722 decoder, new for a new stream (its adaptive state is the stream's)."""
        if self.g722 is None or ssrc != self.g722_ssrc:
            self.g722, self.g722_ssrc = G722Decoder(sample_rate), ssrc
        return self.g722

    def write_pending(self) -> None:
        """Writes what is pending, contiguous runs as one ``pwrite``; raises ``OSError``."""
        if not self.pending:
            return
        runs = sorted(self.pending.items())
        self.pending.clear()
        self.pending_bytes = 0
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
        run_start, run = runs[0][0], bytearray(runs[0][1])
        for offset, pcm in runs[1:]:
            if offset > run_start + len(run):  # a gap: silence, left as a hole in the file
                self._write_all(run_start, bytes(run))
                run_start, run = offset, bytearray(pcm)
            else:  # contiguous, or overlapping (packets of unequal length): the later offset wins
                at = offset - run_start
                run[at : at + len(pcm)] = pcm
        self._write_all(run_start, bytes(run))

    def _write_all(self, offset: int, data: bytes) -> None:
        assert self.fd is not None
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            if written <= 0:  # a short write that wrote nothing: the disk is full
                raise OSError(28, "No space left on device")
            view, offset = view[written:], offset + written

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)
            except OSError as exc:
                log.warning("recording file %s did not close: %s", self.path, exc)


class Recorder:
    """Records one call's two legs into ``spool/<recording_id>/`` (``recording_id`` a UUID).

    The recording's sample rate is 8 kHz, or 16 kHz when its first audio is G.722 (a G.711 leg in
    such a call is doubled up to 16 kHz, a G.722 leg in a G.711 call decoded at 8 kHz).
    """

    def __init__(
        self,
        spool: Path,
        recording_id: str,
        *,
        started_at: datetime,
        on_failure: Callable[[str], None] | None = None,
        max_duration_seconds: float = 4 * 3600,
        max_skew_seconds: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._raw = raw_recording(
            recording_directory(spool, recording_id), recording_id, NARROWBAND, started_at
        )
        self._on_failure = on_failure
        self._clock = clock
        self._started = clock()
        self._max_position = int(max(0.0, max_duration_seconds) * RTP_CLOCK_RATE)
        self._max_skew = int(max(0.0, max_skew_seconds) * RTP_CLOCK_RATE)
        self._channels = {Leg.AGENT: _Channel(self._raw.left), Leg.CALLEE: _Channel(self._raw.right)}
        self._g711 = _NARROWBAND_G711
        self._unit = SAMPLE_WIDTH  # bytes per RTP clock tick in the files
        self._rate_chosen = False
        self._stopped = self._closed = self._failed = False
        try:
            self._raw.directory.mkdir(parents=True, exist_ok=True)
            write_metadata(self._raw)
        except OSError as exc:
            self._fail(f"recording could not start: {exc.strerror or exc}")

    @property
    def failed(self) -> bool:
        """Recording stopped early on a write error (the call itself goes on)."""
        return self._failed

    @property
    def sample_rate(self) -> int:
        return self._raw.sample_rate

    def audio(self, leg: Leg, codec: str, ssrc: int, timestamp: int, payload: bytes) -> None:
        """One RTP payload (codec "PCMU", "PCMA" or "G722"), placed by its RTP timestamp."""
        if self._stopped:
            return
        channel = self._channels[leg]
        decode = self._g711.get(codec)
        if decode is None:
            codec = codec.upper()  # SDP's encoding names are case-insensitive
            decode = self._g711.get(codec)
        if decode is None:
            if codec != "G722":  # other codecs are relayed, not recorded
                return
            if not self._rate_chosen and not self._choose_rate(WIDEBAND):
                return
            decode = channel.g722_decoder(ssrc, self._raw.sample_rate)
        elif not self._rate_chosen:
            self._rate_chosen = True  # G.711 first: the 8 kHz the metadata already says
        expected = round((self._clock() - self._started) * RTP_CLOCK_RATE)
        position = channel.track.place(ssrc, timestamp, expected, self._max_skew)
        pcm = decode(payload)
        unit = self._unit
        if position < 0:  # a late packet from before the anchor reached the recording's start
            pcm = pcm[-position * unit :]
            position = 0
        room = (self._max_position - position) * unit
        if room <= 0 or not pcm:
            return
        if len(pcm) > room:
            pcm = pcm[:room]
        offset = position * unit
        earlier = channel.pending.get(offset)
        if earlier is not None and len(earlier) > len(pcm):  # a shorter packet where a longer one was
            pcm += earlier[len(pcm) :]
        channel.pending[offset] = pcm
        channel.pending_bytes += len(pcm)
        if channel.pending_bytes > _MAX_PENDING_BYTES:
            self._write(channel)

    def flush(self) -> None:
        """Writes the audio placed since the last flush (the relay calls it about once a second)."""
        if self._stopped:
            return
        for channel in self._channels.values():
            self._write(channel)
            if self._stopped:
                return

    def close(self) -> RawRecording:
        """Flushes and closes the files; what was written, even after a write error."""
        if not self._closed:
            self.flush()
            self._stopped = self._closed = True
            for channel in self._channels.values():
                channel.pending.clear()
                channel.close()
        return self._raw

    def _choose_rate(self, sample_rate: int) -> bool:
        """The first audio sets the sample rate (before anything is placed); False if stopped."""
        self._rate_chosen = True
        if sample_rate == self._raw.sample_rate:
            return True
        self._raw = replace(self._raw, sample_rate=sample_rate)
        self._unit = SAMPLE_WIDTH * sample_rate // RTP_CLOCK_RATE
        self._g711 = _WIDEBAND_G711
        try:
            write_metadata(self._raw)
        except OSError as exc:
            self._fail(f"recording could not start: {exc.strerror or exc}")
        return not self._stopped

    def _write(self, channel: _Channel) -> None:
        try:
            channel.write_pending()
        except OSError as exc:
            self._fail(f"recording write failed: {exc.strerror or exc}")

    def _fail(self, reason: str) -> None:
        self._stopped = self._failed = True
        for channel in self._channels.values():
            channel.pending.clear()
            channel.pending_bytes = 0
        log.error("recording %s stopped: %s", self._raw.recording_id, reason)
        if self._on_failure is not None:
            try:
                self._on_failure(reason)
            except Exception:  # the relay's callback must not break the relay either
                log.exception("recording %s: on_failure raised", self._raw.recording_id)
