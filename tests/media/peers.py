"""Plain-socket RTP peers on 127.0.0.1 for the relay's tests: they send and receive real datagrams."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field
from datetime import datetime

from sipline.media.port import Leg

HEADER = struct.Struct("!BBHII")


def rtp(pt: int, seq: int, timestamp: int, ssrc: int, payload: bytes, *, marker: bool = False) -> bytes:
    second = (0x80 if marker else 0) | pt
    return HEADER.pack(0x80, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


@dataclass(frozen=True)
class Packet:
    pt: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes
    source: tuple[str, int]


def parse(data: bytes, source: tuple[str, int]) -> Packet:
    _, second, seq, timestamp, ssrc = HEADER.unpack_from(data)
    return Packet(second & 0x7F, seq, timestamp, ssrc, data[12:], source)


def phone_sdp(port: int, *, address: str = "127.0.0.1", formats: str = "0 8 101", extra: str = "") -> bytes:
    maps = {
        "0": "a=rtpmap:0 PCMU/8000",
        "8": "a=rtpmap:8 PCMA/8000",
        "101": "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16",
        "96": "a=rtpmap:96 telephone-event/8000",
        "9": "a=rtpmap:9 G722/8000",
    }
    lines = [
        "v=0",
        f"o=peer 1 1 IN IP4 {address}",
        "s=-",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        *(maps[f] for f in formats.split() if f in maps),
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n" + extra).encode()


class Peer:
    """A phone or a carrier: one UDP socket on 127.0.0.1 (RTP); RTCP is not needed by most tests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.seq = 1000
        self.timestamp = 50_000
        self.ssrc = 0x1234_0000 + self.port

    def send_to(self, address: tuple[str, int], data: bytes) -> None:
        self.sock.sendto(data, address)

    def send_audio(self, address: tuple[str, int], pt: int, payload: bytes = b"\xff" * 160) -> None:
        self.send_to(address, rtp(pt, self.seq, self.timestamp, self.ssrc, payload))
        self.seq += 1
        self.timestamp += 160

    async def receive(self, timeout: float = 2.0) -> Packet:
        data, source = await self.receive_datagram(timeout)
        return parse(data, source)

    async def receive_datagram(self, timeout: float = 2.0) -> tuple[bytes, tuple[str, int]]:
        """The next datagram (uvloop has no ``sock_recvfrom``: a reader callback waits for it)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                try:
                    return self.sock.recvfrom(65536)  # type: ignore[no-any-return]
                except BlockingIOError:
                    pass
                readable: asyncio.Future[None] = loop.create_future()
                loop.add_reader(self.sock.fileno(), _wake, readable)
                try:
                    await readable
                finally:
                    loop.remove_reader(self.sock.fileno())

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.receive(seconds)
        except TimeoutError:
            return True
        return False

    def drain(self) -> list[bytes]:
        """Whatever has arrived by now."""
        got = []
        while True:
            try:
                got.append(self.sock.recv(2048))
            except BlockingIOError:
                return got

    def close(self) -> None:
        self.sock.close()


def _wake(readable: asyncio.Future[None]) -> None:
    if not readable.done():
        readable.set_result(None)


@dataclass
class Events:
    """A call's MediaEvents, as the call would see them."""

    digits: list[tuple[Leg, str]] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)
    activity: list[datetime] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None:
        self.digits.append((leg, digit))

    def media_timeout(self, idle_seconds: float) -> None:
        self.timeouts.append(idle_seconds)

    def media_activity(self, at: datetime) -> None:
        self.activity.append(at)

    def recording_failed(self, reason: str) -> None:
        self.failures.append(reason)


def platform_address(sdp: bytes) -> tuple[str, int]:
    """Where an SDP of the platform says to send RTP (its c= address and m= port)."""
    text = sdp.decode()
    address = next(line.split()[2] for line in text.splitlines() if line.startswith("c="))
    port = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("m=audio"))
    return address, port
