"""RFC 4733 digits: each reported once, in order, despite end retransmits, loss and reordering;
also from SIPp's recorded telephone-event pcaps, and through a relayed call."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from sipline.media.dtmf import DtmfDecoder
from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from tests.media.calls import bridged_call
from tests.media.peers import rtp

PCAPS = Path("/usr/share/sip-tester")


def _event(digit: int, duration: int, *, end: bool = False) -> bytes:
    return bytes((digit, (0x80 if end else 0) | 10)) + duration.to_bytes(2, "big")


def _press(digit: int, timestamp: int, first_seq: int) -> list[tuple[int, int, bytes]]:
    """seq, timestamp, payload of one key press: 5 updates, then the end sent three times."""
    packets = [(first_seq + n, timestamp, _event(digit, 160 * (n + 1))) for n in range(5)]
    packets += [(first_seq + 5, timestamp, _event(digit, 960, end=True))] * 3
    return packets


def _decode(packets: list[tuple[int, int, bytes]]) -> str:
    heard: list[str] = []
    decoder = DtmfDecoder(heard.append)
    for seq, timestamp, payload in packets:
        decoder.packet(seq, 0xCAFE, timestamp, payload)
    return "".join(heard)


def test_each_digit_once_despite_the_three_end_packets() -> None:
    presses = [_press(d, 8000 * (i + 1), 100 + 10 * i) for i, d in enumerate((1, 2, 2, 11, 10))]
    assert _decode([p for press in presses for p in press]) == "122#*"


def test_a_digit_whose_end_packets_are_all_lost_is_still_reported_once() -> None:
    first = _press(4, 8000, 1)[:5]  # no end packet arrives
    second = _press(5, 16000, 20)
    assert _decode(first + second) == "45"


def test_a_digit_whose_start_is_lost_is_reported_from_its_end() -> None:
    assert _decode(_press(7, 8000, 1)[5:]) == "7"


def test_late_retransmits_of_an_earlier_digit_are_not_reported_again() -> None:
    one, two = _press(1, 8000, 1), _press(2, 16000, 20)
    assert _decode(one + two[:3] + one[5:] + two[3:]) == "12"


def test_non_digit_events_and_short_payloads_are_ignored() -> None:
    assert _decode([(1, 8000, _event(16, 160)), (2, 8000, b"\x01\x00"), (3, 8000, b"")]) == ""


def _pcap_payloads(path: Path) -> list[bytes]:
    """The RTP packets of a classic little-endian pcap with Ethernet/IPv4/UDP frames."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    packets, offset = [], 24
    while offset + 16 <= len(data):
        captured = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip_header = (frame[14] & 0x0F) * 4
        packets.append(frame[14 + ip_header + 8 :])
    return packets


@pytest.mark.skipif(not PCAPS.exists(), reason="SIPp's pcaps are not installed")
def test_sipp_telephone_event_pcaps_give_their_digit_once() -> None:
    for name, digit in [*((str(d), str(d)) for d in range(10)), ("star", "*"), ("pound", "#")]:
        heard: list[str] = []
        decoder = DtmfDecoder(heard.append)
        for packet in _pcap_payloads(PCAPS / f"dtmf_2833_{name}.pcap"):
            seq, timestamp, ssrc = struct.unpack_from("!HII", packet, 2)
            assert packet[1] & 0x7F == 101
            decoder.packet(seq, ssrc, timestamp, packet[12:])
        assert heard == [digit], name


async def test_digits_through_the_relay_are_reported_and_still_relayed(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane, callee_formats="0 96")  # the callee calls telephone-event 96
    try:
        for i, digit in enumerate((3, 1, 4)):
            for seq, timestamp, payload in _press(digit, 8000 * (i + 1), 10 * i):
                call.callee.send_to(call.to_callee_side, rtp(96, seq, timestamp, 77, payload))
        relayed = [await call.agent.receive() for _ in range(24)]
        assert {packet.pt for packet in relayed} == {101}  # the agent's number for telephone-event
        await asyncio.sleep(0.05)
        assert call.events.digits == [(Leg.CALLEE, "3"), (Leg.CALLEE, "1"), (Leg.CALLEE, "4")]
    finally:
        call.close()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_replayed_press_of_the_same_key_counts_once_per_press() -> None:
    # SIPp's play_pcap_audio replays a pcap's RTP unchanged: same SSRC, timestamp and seq each time
    clock, heard = _Clock(), []
    decoder = DtmfDecoder(heard.append, clock)
    one, two = _press(1, 8000, 1), _press(2, 16000, 20)
    for press in (one, one, two, one):
        for seq, timestamp, payload in press:
            decoder.packet(seq, 0xCAFE, timestamp, payload)
            clock.now += 0.02
        clock.now += 1.0  # the time between a person's presses
    assert "".join(heard) == "1121"


def test_late_update_packets_of_an_unended_digit_are_not_a_new_press() -> None:
    clock, heard = _Clock(), []
    decoder = DtmfDecoder(heard.append, clock)
    one, two = _press(1, 8000, 1)[:4], _press(2, 16000, 20)  # 1's end packets are all lost
    for seq, timestamp, payload in [*one[:3], *two[:2], one[3], *two[2:]]:  # one of 1's arrives late
        decoder.packet(seq, 0xCAFE, timestamp, payload)
        clock.now += 0.02
    assert "".join(heard) == "12"


@pytest.mark.skipif(not PCAPS.exists(), reason="SIPp's pcaps are not installed")
async def test_sipp_pcaps_replayed_through_the_relay_give_each_press(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane, callee_formats="8 101")  # the carrier: PCMA and telephone-event 101
    try:
        audio = _pcap_payloads(PCAPS / "g711a.pcap")[:25]
        for packet in audio:  # half a second of the carrier's PCMA, as SIPp sends it
            call.callee.send_to(call.to_callee_side, packet)
        heard = [await call.agent.receive() for _ in audio]
        assert {p.pt for p in heard} == {8}  # the agent's phone offered PCMA too: no transcoding
        for name in ("1", "2", "2", "pound"):
            for packet in _pcap_payloads(PCAPS / f"dtmf_2833_{name}.pcap"):
                call.callee.send_to(call.to_callee_side, packet)
            await asyncio.sleep(0.4)  # SIPp's scenario pauses between its plays
        assert [digit for _, digit in call.events.digits] == ["1", "2", "2", "#"]
    finally:
        call.close()
