"""One leg of a relayed call: its RTP and RTCP sockets, where its peer really is, and the hot path.

Packets arriving on leg X's port go out of leg Y's port to leg Y's remote address, so each peer
only ever sees the platform's address it was given in SDP.

Symmetric RTP with latching: the remote address comes from SDP until the leg's first valid RTP
packet arrives; from then on the leg is latched to that packet's source, and packets from any other
address on the port are dropped (and counted), never forwarded nor recorded.

Only valid RTP with a negotiated payload type latches. Re-latch rule (for a NAT that rebinds
mid-call, without letting a stranger take a call over):
- RTP from exactly the address and port the leg's SDP names always wins: a stranger that got in
  first (before the leg's own first packet) loses the leg to it;
- a new SDP from the leg naming another address or port unlatches it: its next valid RTP latches;
- otherwise a new source is accepted only when the latched one has been silent for at least
  ``RELATCH_AFTER_SILENT_TICKS`` plane ticks (about seconds) AND its packet carries the SSRC that
  was latched, which an off-path stranger cannot know.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Protocol

from sipline.media.dtmf import DtmfDecoder
from sipline.media.port import Leg, LegStats
from sipline.media.relay.ports import PortPair
from sipline.media.relay.routes import Routes

RELATCH_AFTER_SILENT_TICKS = 2
Address = tuple[str, int]
_SEQ_TS_SSRC = struct.Struct("!HII")  # from byte 2 of the RTP header


class AudioSink(Protocol):
    def audio(self, leg: Leg, codec: str, ssrc: int, timestamp: int, payload: bytes) -> None: ...


def payload_bounds(data: bytes) -> tuple[int, int] | None:
    """Start and end of an RTP packet's payload, or None when it is not valid RTP (RFC 3550 §5.1)."""
    size = len(data)
    if size < 12:
        return None
    first = data[0]
    if first & 0xC0 != 0x80:
        return None  # not version 2
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 4 bytes, then its length in 32-bit words
        if start + 4 > size:
            return None
        start += 4 + 4 * ((data[start + 2] << 8) | data[start + 3])
    end = size
    if first & 0x20:  # padding: its length is the last byte
        padding = data[-1]
        if padding == 0:
            return None
        end -= padding
    if start > end:
        return None
    return start, end


class LegMedia:
    """A leg's state; read by its protocols on every packet, so plain slots, no properties."""

    __slots__ = (
        "bytes_in",
        "closed",
        "dropped",
        "dtmf",
        "latched_ssrc",
        "leg",
        "opening",
        "packets_in",
        "packets_out",
        "pair",
        "peer",
        "recorder",
        "ringing",
        "routes",
        "rtcp",
        "rtcp_send_to",
        "rtcp_source",
        "rtp",
        "sdp_rtcp",
        "sdp_rtp",
        "send_to",
        "silent_ticks",
        "source",
        "ticked_packets",
    )

    def __init__(self, leg: Leg, pair: PortPair, on_dtmf: Callable[[str], None]) -> None:
        self.leg = leg
        self.pair = pair
        self.peer: LegMedia = self  # set to the other leg by the session
        self.rtp: asyncio.DatagramTransport | None = None
        self.rtcp: asyncio.DatagramTransport | None = None
        self.closed = False
        self.opening: tuple[asyncio.Task[object], ...] = ()  # attaching the sockets to the loop
        self.sdp_rtp: Address | None = None  # from the leg's SDP
        self.sdp_rtcp: Address | None = None
        self.source: Address | None = None  # latched RTP source
        self.rtcp_source: Address | None = None
        self.send_to: Address | None = None  # the latched source, else the SDP address
        self.rtcp_send_to: Address | None = None
        self.latched_ssrc = -1
        self.routes: Routes = [None] * 128
        self.recorder: AudioSink | None = None
        self.dtmf = DtmfDecoder(on_dtmf)
        self.ringing = False
        self.packets_in = self.packets_out = self.bytes_in = self.dropped = 0
        self.ticked_packets = 0
        self.silent_ticks = 0

    @property
    def port(self) -> int:
        return self.pair.port

    def remote_from_sdp(self, address: str | None, port: int, rtcp_port: int | None) -> None:
        """The leg's SDP named this address; a different one than its previous SDP's unlatches it."""
        if address is not None and (":" in address) != (self.pair.rtp.family == socket.AF_INET6):
            address = None  # another IP version than our socket's: found by latching, if at all
        rtp = (address, port) if address is not None and port else None
        rtcp = (rtp[0], rtcp_port or port + 1) if rtp is not None else None
        if rtp != self.sdp_rtp and (self.sdp_rtp is not None or self.source is None):
            # (a leg latched before its first SDP, by early media, stays latched)
            self.source = self.rtcp_source = None
            self.send_to, self.rtcp_send_to = rtp, rtcp
        elif self.rtcp_source is None and self.source is None:
            self.rtcp_send_to = rtcp
        self.sdp_rtp, self.sdp_rtcp = rtp, rtcp

    def admit(self, data: bytes, source: Address) -> bool:
        """Valid RTP from an address other than the latched one: latch to it, or drop it."""
        ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)[2]
        if (
            self.source is not None
            and source != self.sdp_rtp
            and not (self.silent_ticks >= RELATCH_AFTER_SILENT_TICKS and ssrc == self.latched_ssrc)
        ):
            self.dropped += 1
            return False
        if self.source is not None:
            self.rtcp_source = None  # re-latched: RTCP latches afresh too
        self.source = self.send_to = source
        self.latched_ssrc = ssrc
        self.silent_ticks = 0
        if self.rtcp_source is None:  # until its RTCP shows up, guess it beside the latched RTP
            self.rtcp_send_to = (source[0], source[1] + 1)
        return True

    def stats(self) -> LegStats:
        return LegStats(self.packets_in, self.packets_out, self.bytes_in, self.dropped, self.source)


class RtpProtocol(asyncio.DatagramProtocol):
    __slots__ = ("_leg",)

    def __init__(self, leg: LegMedia) -> None:
        self._leg = leg

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._leg.closed:  # released while the endpoint was being made
            transport.close()
        else:
            self._leg.rtp = transport  # type: ignore[assignment]  # uvloop's is no DatagramTransport

    def datagram_received(self, data: bytes, addr: Address) -> None:
        leg = self._leg
        size = len(data)
        if size >= 12 and data[0] == 0x80:  # the usual header: no CSRC, extension nor padding
            start, end = 12, size
        else:
            bounds = payload_bounds(data)
            if bounds is None:
                leg.dropped += 1
                return
            start, end = bounds
        first, second = data[0], data[1]
        route = leg.routes[second & 0x7F]
        if route is None:
            leg.dropped += 1
            return
        if addr != leg.source and not leg.admit(data, addr):  # only valid RTP may latch
            return
        leg.packets_in += 1
        leg.bytes_in += size
        out_pt, table, recorded, dtmf = route
        if dtmf:
            seq, timestamp, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
            leg.dtmf.packet(seq, ssrc, timestamp, data[start:end])
        elif recorded is not None:
            recorder = leg.recorder
            if recorder is not None:
                _, timestamp, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
                recorder.audio(leg.leg, recorded, ssrc, timestamp, data[start:end])
        peer = leg.peer
        if peer.ringing:
            peer.ringing = False  # the other side's own media (early media) replaces the tone
        target = peer.send_to
        transport = peer.rtp
        if out_pt < 0 or target is None or transport is None:
            return
        if table is not None:
            head = bytes((first, (second & 0x80) | out_pt))
            data = b"".join((head, data[2:start], data[start:end].translate(table), data[end:]))
        elif out_pt != second & 0x7F:
            data = bytes((first, (second & 0x80) | out_pt)) + data[2:]
        transport.sendto(data, target)
        peer.packets_out += 1

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors from a peer that went away: the media timeout handles a dead leg


class RtcpProtocol(asyncio.DatagramProtocol):
    """RTCP is relayed as it is (its SSRCs are the peers' own), latched like RTP."""

    __slots__ = ("_leg",)

    def __init__(self, leg: LegMedia) -> None:
        self._leg = leg

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._leg.closed:
            transport.close()
        else:
            self._leg.rtcp = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        leg = self._leg
        if len(data) < 8 or data[0] & 0xC0 != 0x80 or not 192 <= data[1] <= 223:
            leg.dropped += 1
            return
        if addr != leg.rtcp_source:
            # latched once, and only to the latched RTP source's host when there is one
            if leg.rtcp_source is not None or (leg.source is not None and addr[0] != leg.source[0]):
                leg.dropped += 1
                return
            leg.rtcp_source = leg.rtcp_send_to = addr
        peer = leg.peer
        target, transport = peer.rtcp_send_to, peer.rtcp
        if target is not None and transport is not None:
            transport.sendto(data, target)

    def error_received(self, exc: Exception) -> None:
        pass
