"""The embedded relay's per-packet Python cost, in process: no sockets, no event loop.

One leg's `RtpProtocol.datagram_received` is fed 50,000 PCMU packets from its latched source and
sends them to a transport that discards them, first without recording, then recording into a
spool in a temporary directory (the recorder's decoding and placement; flushed once at the end).
What this leaves out, the event loop's receiving and the system calls, is bench/media's to measure.

Run: python -m bench.media_hot_path
"""

from __future__ import annotations

import socket
import struct
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sipline.media.port import Leg
from sipline.media.recording.recorder import Recorder
from sipline.media.relay.leg import LegMedia, RtpProtocol
from sipline.media.relay.ports import PortPair
from sipline.media.relay.routes import build_routes
from sipline.media.sdp import Codec

PACKETS = 50_000
SOURCE = ("127.0.0.1", 4000)


class _Discard:
    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        pass


def _legs() -> tuple[LegMedia, list[socket.socket]]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    agent = LegMedia(Leg.AGENT, PortPair(1, sockets[0], sockets[1]), lambda digit: None)
    callee = LegMedia(Leg.CALLEE, PortPair(2, sockets[2], sockets[3]), lambda digit: None)
    agent.peer, callee.peer = callee, agent
    codecs = (Codec(0, "PCMU", 8000), Codec(101, "telephone-event", 8000))
    agent.routes = build_routes(codecs, codecs)
    agent.source = agent.send_to = SOURCE
    callee.rtp = _Discard()  # type: ignore[assignment]
    callee.send_to = ("127.0.0.1", 5000)
    return agent, sockets


def _per_packet_us(protocol: RtpProtocol, packets: list[bytes]) -> float:
    started = time.process_time()
    for packet in packets:
        protocol.datagram_received(packet, SOURCE)
    return (time.process_time() - started) / len(packets) * 1e6


def main() -> None:
    packets = [
        struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n * 160, 0x1234) + b"\xff" * 160 for n in range(PACKETS)
    ]
    agent, sockets = _legs()
    protocol = RtpProtocol(agent)
    print(f"relayed, not recorded: {_per_packet_us(protocol, packets):.2f} us of CPU per packet")
    with tempfile.TemporaryDirectory() as spool:
        recorder = Recorder(Path(spool), str(uuid.uuid4()), started_at=datetime.now(UTC))
        agent.recorder = recorder
        print(f"relayed and recorded:  {_per_packet_us(protocol, packets):.2f} us of CPU per packet")
        recorder.close()
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
