"""One relayed call: the two legs' offer/answer with the platform, recording, ringback, timeouts.

Per leg the platform keeps two codec lists: ``_receive`` (what its own SDP to the leg said, so the
payload types the leg sends with) and ``_send`` (what the leg's SDP said, so the payload types it
expects). RFC 3264 lets them differ; in practice they are the same.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sipline.media import sdp
from sipline.media.port import Leg, MediaError, MediaEvents, MediaStats, RawRecording
from sipline.media.recording.recorder import Recorder
from sipline.media.relay.leg import LegMedia
from sipline.media.relay.negotiation import accepted_codecs, answer_codecs, offer_codecs, passed_through
from sipline.media.relay.ports import PortPair
from sipline.media.relay.ringback import RingbackStream
from sipline.media.relay.routes import build_routes, g711_codec
from sipline.media.sdp import Codec

if TYPE_CHECKING:
    from sipline.media.relay.plane import EmbeddedMediaPlane

log = logging.getLogger("sipline.media")


class RelaySession:
    """A ``MediaSession`` of the embedded relay (see ``media/port.py`` for the contract)."""

    def __init__(
        self,
        plane: EmbeddedMediaPlane,
        call_id: str,
        events: MediaEvents,
        agent: PortPair,
        callee: PortPair,
    ) -> None:
        self.call_id = call_id
        self._plane = plane
        self._events = events
        self.legs = {
            Leg.AGENT: LegMedia(Leg.AGENT, agent, self._dtmf_reporter(Leg.AGENT)),
            Leg.CALLEE: LegMedia(Leg.CALLEE, callee, self._dtmf_reporter(Leg.CALLEE)),
        }
        self.legs[Leg.AGENT].peer = self.legs[Leg.CALLEE]
        self.legs[Leg.CALLEE].peer = self.legs[Leg.AGENT]
        self._receive: dict[Leg, tuple[Codec, ...]] = {Leg.AGENT: (), Leg.CALLEE: ()}
        self._send: dict[Leg, tuple[Codec, ...] | None] = {Leg.AGENT: None, Leg.CALLEE: None}
        self._offered_direction: dict[Leg, str | None] = {Leg.AGENT: None, Leg.CALLEE: None}
        self._ptime: int | None = None
        self._origins = {leg: sdp.Origin(secrets.randbelow(2**31), 0) for leg in Leg}
        self._warned_passthrough = False
        self._ringers: dict[Leg, RingbackStream] = {}
        self._recorder: Recorder | None = None
        self._released = False
        self._media_started = False
        self._idle_since = 0.0
        self._timed_out = False

    # offer/answer

    def accept_offer(self, leg: Leg, sdp_bytes: bytes) -> bytes:
        offer = sdp.parse(sdp_bytes)
        stream = offer.audio
        codecs = answer_codecs(stream.codecs, self._send[leg.other])
        self._warn_passthrough(codecs)
        self._receive[leg] = self._send[leg] = codecs
        self._offered_direction[leg] = stream.direction
        self._ptime = stream.ptime or self._ptime
        self._remote(leg, stream)
        self._rebuild_routes()
        return self._write(leg, codecs, sdp.reversed_direction(stream.direction), answer_to=offer)

    def make_offer(self, leg: Leg) -> bytes:
        codecs = offer_codecs(self._send[leg.other])
        self._receive[leg] = codecs
        self._rebuild_routes()
        return self._write(leg, codecs, self._offered_direction[leg.other] or "sendrecv")

    def accept_answer(self, leg: Leg, sdp_bytes: bytes) -> None:
        answer = sdp.parse(sdp_bytes)
        if not self._receive[leg]:
            raise MediaError(f"an answer from the {leg} leg, which was made no offer")
        stream = answer.audio
        codecs = accepted_codecs(stream.codecs, self._receive[leg])
        self._warn_passthrough(codecs)
        self._send[leg] = codecs
        self._ptime = self._ptime or stream.ptime
        self._remote(leg, stream)
        self._rebuild_routes()

    def _remote(self, leg: Leg, stream: sdp.AudioStream) -> None:
        self.legs[leg].remote_from_sdp(stream.address, stream.port, stream.rtcp_port)
        if not self._media_started:
            self._media_started = True
            self._idle_since = self._plane.clock()

    def _rebuild_routes(self) -> None:
        for leg, media in self.legs.items():
            incoming = self._receive[leg] + (self._send[leg] or ())  # a peer using its own types too
            media.routes = build_routes(incoming, self._send[leg.other] or ())

    def _write(
        self,
        leg: Leg,
        codecs: tuple[Codec, ...],
        direction: str,
        answer_to: sdp.SessionDescription | None = None,
    ) -> bytes:
        origin = self._origins[leg]
        self._origins[leg] = sdp.Origin(origin.session_id, origin.version + 1)
        return sdp.write(
            self._plane.advertised,
            self.legs[leg].port,
            self._origins[leg],
            codecs,
            direction,
            ptime=self._ptime,
            protocol=answer_to.audio.protocol if answer_to is not None else "RTP/AVP",
            answer_to=answer_to,
        )

    def _warn_passthrough(self, codecs: tuple[Codec, ...]) -> None:
        names = passed_through(codecs)
        if names and not self._warned_passthrough:
            self._warned_passthrough = True
            log.warning("call %s: codec %s relayed as it is and not recorded", self.call_id, ", ".join(names))

    # ringback

    def ringback(self, leg: Leg, playing: bool) -> None:
        media = self.legs[leg]
        codec = g711_codec(self._send[leg] or self._receive[leg])
        if not playing or codec is None or self._released:
            media.ringing = False
            self._ringers.pop(leg, None)
            return
        if leg not in self._ringers:
            self._ringers[leg] = RingbackStream(codec.name.upper(), codec.pt)
        media.ringing = True
        self._plane.ring(self, leg)

    def send_ringback(self, leg: Leg) -> bool:
        """One tone frame to ``leg``; False once the tone has stopped (by ``ringback`` or early media)."""
        media = self.legs[leg]
        ringer = self._ringers.get(leg)
        if not media.ringing or ringer is None:
            self._ringers.pop(leg, None)
            return False
        if media.rtp is not None and media.send_to is not None:
            media.rtp.sendto(ringer.next_packet(), media.send_to)
            media.packets_out += 1
        return True

    # recording

    def start_recording(self, recording_id: str) -> None:
        if self._recorder is not None or self._released:
            return
        try:
            self._recorder = Recorder(
                self._plane.spool,
                recording_id,
                started_at=datetime.now(UTC),
                on_failure=self._recording_failed,
            )
        except (OSError, ValueError) as exc:
            log.warning("call %s: cannot start recording: %s", self.call_id, exc)
            self._events.recording_failed(str(exc))
            return
        for media in self.legs.values():
            media.recorder = self._recorder

    def _recording_failed(self, reason: str) -> None:
        for media in self.legs.values():
            media.recorder = None
        self._events.recording_failed(reason)

    def stop_recording(self) -> RawRecording | None:
        recorder, self._recorder = self._recorder, None
        for media in self.legs.values():
            media.recorder = None
        if recorder is None:
            return None
        try:
            raw: RawRecording = recorder.close()
        except OSError as exc:
            log.warning("call %s: recording could not be completed: %s", self.call_id, exc)
            self._events.recording_failed(str(exc))
            return None
        return raw

    # periodic work (the plane's one timer) and the end

    def tick(self, now: float) -> None:
        """About once a second: activity and timeout, re-latch clocks, recorder flush."""
        moved = False
        for media in self.legs.values():
            if media.packets_in != media.ticked_packets:
                media.ticked_packets = media.packets_in
                media.silent_ticks = 0
                moved = True
            else:
                media.silent_ticks += 1
        if moved:
            self._idle_since = now
            self._timed_out = False
            self._events.media_activity(datetime.now(UTC))
        elif self._timing_out(now):
            self._timed_out = True
            self._events.media_timeout(now - self._idle_since)
        if self._recorder is not None:
            self._recorder.flush()

    def _timing_out(self, now: float) -> bool:
        idle = now - self._idle_since
        return self._media_started and not self._timed_out and idle >= self._plane.media_timeout

    def stats(self) -> MediaStats:
        return MediaStats(self.legs[Leg.AGENT].stats(), self.legs[Leg.CALLEE].stats())

    def release(self) -> MediaStats:
        if not self._released:
            self._released = True
            self.stop_recording()
            self._ringers.clear()
            for media in self.legs.values():
                media.ringing = False
                self._plane.close_leg(media)
            self._plane.forget(self)
        return self.stats()

    def _dtmf_reporter(self, leg: Leg) -> Callable[[str], None]:
        def report(digit: str) -> None:
            try:
                self._events.media_dtmf(leg, digit, datetime.now(UTC))
            except Exception:  # the call's handler failing must not stop the packet's relaying
                log.exception("call %s: the DTMF handler failed", self.call_id)

        return report
