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

``audio()`` is on the relay's hot path, so it has two ways:

- in order (the usual case): a G.711 packet of the stream last placed whose timestamp follows on
  from the previous packet's is appended to the channel's run, its payload bytes as received: no
  placement, no clock, no decoding. ``flush()`` (the relay calls it about once a second) decodes a
  run in one call and writes it with one ``os.pwrite``; it also reads the clock once for the skew
  check, so a run that drifted further than ``max_skew_seconds`` from the wall clock, or a channel
  silent since the last flush (a sender on hold may resume with timestamps that follow on), sends
  its next packet the other way. A run never reaches past where the skew window or the maximum
  duration ends, seen from its last clock check;
- anything else (a stream's first packets, loss, reordering, duplicates, a new SSRC, G.722): placed
  by the rules above, decoded at once and kept until the flush, after the run so far.

Everything is written in the order it arrived, so where packets overlap (a duplicate, packets of
unequal length, a straggler of another stream) the one that arrived last wins.

A write error (disk full, quota, I/O) ends the recording, not the call: logged once,
``on_failure`` told once, further audio ignored, nothing raised.
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
_AGENT = Leg.AGENT
_WRAP = 1 << 32
_HALF_WRAP = 1 << 31
_MASK = _WRAP - 1
# Audio held between flushes is about a second; a peer scattering packets over the whole skew
# window could hold more, so past this a channel is written at once (rare, and amortised).
_MAX_PENDING_BYTES = 1 << 20
# A run is decoded and written at least this often (in RTP ticks, one per G.711 byte), flushes or not.
_MAX_RUN_TICKS = 4 * RTP_CLOCK_RATE


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
    """One channel's file, its in-order run, and the PCM placed otherwise since the last flush."""

    __slots__ = (
        "decode",
        "fd",
        "g722",
        "g722_ssrc",
        "next_timestamp",
        "path",
        "pending",
        "pending_bytes",
        "room",
        "run",
        "run_codec",
        "run_ssrc",
        "run_start",
        "track",
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.track = _Track()
        self.fd: int | None = None  # opened at the first write: a silent leg leaves no file
        # (byte offset, PCM) in arrival order, what follows on merged: written in that order, so
        # where packets overlap (a duplicate, unequal lengths) the one that came last wins
        self.pending: list[tuple[int, bytearray]] = []
        self.pending_bytes = 0
        self.g722: G722Decoder | None = None
        self.g722_ssrc = -1
        # The run: G.711 payloads as received (a list: no copying nor resizing per packet), from
        # position run_start (in RTP ticks, one per payload byte) on, of the stream run_ssrc (sent
        # as run_codec) that track.current anchors (the anchor is moved to the run's end when the
        # run is written or settled). The run's next packet has next_timestamp (-1: no run);
        # ``room`` bytes more may join it.
        self.run: list[bytes] = []
        self.run_start = 0
        self.run_ssrc = -1
        self.run_codec: str | None = None
        self.decode: Decoder = pcmu_to_pcm
        self.next_timestamp = -1
        self.room = 0

    def g722_decoder(self, ssrc: int, sample_rate: int) -> G722Decoder:
        """The leg's G.722 decoder, new for a new stream (its adaptive state is the stream's)."""
        if self.g722 is None or ssrc != self.g722_ssrc:
            self.g722, self.g722_ssrc = G722Decoder(sample_rate), ssrc
        return self.g722

    def put(self, offset: int, pcm: bytes) -> None:
        """PCM placed at ``offset``, after (and so over) what was placed before."""
        pending = self.pending
        if pending and pending[-1][0] + len(pending[-1][1]) == offset:
            pending[-1][1].extend(pcm)  # follows on from the last: one write
        else:
            pending.append((offset, bytearray(pcm)))
        self.pending_bytes += len(pcm)

    def start_run(self, codec: str, decode: Decoder, ssrc: int, timestamp: int, position: int) -> None:
        """In-order packets of this stream, the next with ``timestamp``, go to ``position`` on."""
        self.run_start, self.run_ssrc, self.run_codec, self.decode = position, ssrc, codec, decode
        self.next_timestamp = timestamp

    def end_run(self) -> None:
        self.next_timestamp, self.run_codec = -1, None  # (no codec is None: no packet matches)
        self.run.clear()

    def take_run(self, unit: int) -> tuple[int, bytes]:
        """The run so far, decoded, and its byte offset; the run goes on from its end."""
        payloads = b"".join(self.run)
        taken = (self.run_start * unit, self.decode(payloads))
        self.run_start += len(payloads)
        self.run.clear()
        anchor = self.track.current  # the same mapping, nearer: keeps distances small
        if anchor is not None:
            anchor.timestamp, anchor.position = self.next_timestamp, self.run_start
        return taken

    def settle_run(self, unit: int) -> None:
        """The run so far decoded into ``pending`` (the packet that comes next goes after it)."""
        if self.run:
            self.put(*self.take_run(unit))

    def write_pending(self, unit: int) -> None:
        """Writes what is pending and the run, in arrival order; raises ``OSError``."""
        if self.run and not self.pending:  # the usual flush: a run, nothing else
            self._write_all(*self.take_run(unit))
            return
        self.settle_run(unit)
        pending = self.pending
        if not pending:
            return
        self.pending = []
        self.pending_bytes = 0
        for offset, pcm in pending:
            self._write_all(offset, pcm)

    def _write_all(self, offset: int, data: bytes | bytearray) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
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
        self._left, self._right = _Channel(self._raw.left), _Channel(self._raw.right)
        self._channels = {Leg.AGENT: self._left, Leg.CALLEE: self._right}
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
        channel = self._left if leg is _AGENT else self._right
        if timestamp == channel.next_timestamp and ssrc == channel.run_ssrc and codec is channel.run_codec:
            size = len(payload)  # the in-order way: no clock, no placement, decoded at the flush
            if size <= channel.room:
                channel.run.append(payload)
                channel.room -= size
                channel.next_timestamp = timestamp + size  # past 2**32: the slow way, once a wrap
                return
        self._place(channel, codec, ssrc, timestamp, payload)

    def flush(self) -> None:
        """Writes the audio placed since the last flush (the relay calls it about once a second)."""
        if self._stopped:
            return
        now = self._now()
        for channel in self._channels.values():
            if channel.next_timestamp >= 0 and not channel.run:
                channel.end_run()  # silent since the last flush: its next packet checks the clock
            self._write(channel)
            if self._stopped:
                return
            if channel.next_timestamp >= 0:
                self._check_run(channel, now)

    def close(self) -> RawRecording:
        """Flushes and closes the files; what was written, even after a write error."""
        if not self._closed:
            self.flush()
            self._stopped = self._closed = True
            for channel in self._channels.values():
                channel.end_run()
                channel.pending.clear()
                channel.close()
        return self._raw

    def _place(self, channel: _Channel, codec: str, ssrc: int, timestamp: int, payload: bytes) -> None:
        """A packet out of the run: placed by its timestamp, decoded, kept at its offset."""
        if self._stopped:
            return
        given = codec
        decode = self._g711.get(codec)
        if decode is None:
            codec = codec.upper()  # SDP's encoding names are case-insensitive
            decode = self._g711.get(codec)
        g711 = decode is not None
        if decode is None:
            if codec != "G722":  # other codecs are relayed, not recorded
                return
            if not self._rate_chosen and not self._choose_rate(WIDEBAND):
                return
            decode = channel.g722_decoder(ssrc, self._raw.sample_rate)
        elif not self._rate_chosen:
            self._rate_chosen = True  # G.711 first: the 8 kHz the metadata already says
        unit = self._unit
        channel.settle_run(unit)  # what came before this packet, so that this one wins any overlap
        channel.end_run()
        expected = self._now()
        position = channel.track.place(ssrc, timestamp, expected, self._max_skew)
        pcm = decode(payload)
        whole = position >= 0
        if not whole:  # a late packet from before the anchor reached the recording's start
            pcm = pcm[-position * unit :]
            position = 0
        room = (self._max_position - position) * unit
        if room <= 0 or not pcm:
            return
        if len(pcm) > room:
            pcm = pcm[:room]
            whole = False
        channel.put(position * unit, pcm)
        anchor = channel.track.current
        if g711 and whole and anchor is not None and anchor.confirmed and position == anchor.position:
            # the stream's furthest packet so far: the ones that follow on from it go in the run
            size = len(payload)
            channel.start_run(given, decode, ssrc, (timestamp + size) & _MASK, position + size)
            self._check_run(channel, expected)
        if channel.pending_bytes > _MAX_PENDING_BYTES:
            self._write(channel)

    def _now(self) -> int:
        """Where the wall clock is, in RTP clock ticks since the recording started."""
        return round((self._clock() - self._started) * RTP_CLOCK_RATE)

    def _check_run(self, channel: _Channel, now: int) -> None:
        """The run goes on while within the skew window from ``now`` and the maximum duration."""
        start = channel.run_start
        if abs(start - now) > self._max_skew:
            channel.end_run()  # drifted from the wall clock: its next packet re-anchors it
            return
        channel.room = min(now + self._max_skew, self._max_position, start + _MAX_RUN_TICKS) - start
        if channel.room <= 0:
            channel.end_run()

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
            channel.write_pending(self._unit)
        except OSError as exc:
            self._fail(f"recording write failed: {exc.strerror or exc}")

    def _fail(self, reason: str) -> None:
        self._stopped = self._failed = True
        for channel in self._channels.values():
            channel.end_run()
            channel.pending.clear()
            channel.pending_bytes = 0
        log.error("recording %s stopped: %s", self._raw.recording_id, reason)
        if self._on_failure is not None:
            try:
                self._on_failure(reason)
            except Exception:  # the relay's callback must not break the relay either
                log.exception("recording %s: on_failure raised", self._raw.recording_id)
