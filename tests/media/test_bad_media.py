"""Bad media input: garbage, wrong SSRC, reordering, duplicates and loss, strangers on a call's port.

None of it crashes the relay, leaks audio into another call, or stops the call's own audio.
"""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from tests.conftest import free_ports
from tests.media.calls import Call, bridged_call
from tests.media.peers import Peer, phone_sdp, rtp

GARBAGE = [
    b"",
    b"\x80",
    b"\x00" * 11,
    b"\x40" + b"\x00" * 20,  # RTP version 1
    b"\xc0" + b"\x00" * 20,  # version 3
    b"\x8f" + b"\x00" * 20,  # 15 CSRCs announced, none there
    b"\x90" + b"\x00" * 13,  # extension announced, cut short
    b"\x90\x00" + b"\x00" * 10 + b"\x00\x00\xff\xff",  # extension longer than the packet
    b"\xa0\x00" + b"\x00" * 10 + b"\x00",  # padding 0
    b"\xa0\x00" + b"\x00" * 10 + b"\xc8",  # padding longer than the packet
    rtp(99, 1, 1, 1, b"\x00" * 160),  # a payload type nobody negotiated
    rtp(72, 1, 1, 1, b"\x00" * 20),  # an RTCP packet on the RTP port
    os.urandom(1500),
    b"\xff" * 65000,
]


async def _audio_still_flows(call: Call, marker: int) -> None:
    call.agent.send_audio(call.to_agent_side, 0, bytes([marker]) * 160)
    assert (await call.callee.receive()).payload == bytes([marker]) * 160
    call.callee.send_audio(call.to_callee_side, 0, bytes([marker + 1]) * 160)
    assert (await call.agent.receive()).payload == bytes([marker + 1]) * 160


async def test_garbage_datagrams_are_dropped_and_counted(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    try:
        await _audio_still_flows(call, 1)  # both legs latched
        for data in GARBAGE:
            call.agent.send_to(call.to_agent_side, data)
            call.callee.send_to(call.to_callee_side, data)
        for data in (*GARBAGE, os.urandom(200)):  # and on the RTCP ports
            call.agent.send_to((call.to_agent_side[0], call.to_agent_side[1] + 1), data)
        await asyncio.sleep(0.1)
        assert call.agent.drain() == [] and call.callee.drain() == []
        stats = call.session.stats()
        assert stats.agent.dropped >= len(GARBAGE) and stats.callee.dropped >= len(GARBAGE)
        await _audio_still_flows(call, 10)
    finally:
        call.close()


async def test_garbage_before_latching_does_not_latch(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    stranger = Peer()
    try:
        for data in GARBAGE[:10]:
            stranger.send_to(call.to_agent_side, data)
        await asyncio.sleep(0.05)
        assert call.session.stats().agent.latched_to is None
        await _audio_still_flows(call, 20)
        assert call.session.stats().agent.latched_to == ("127.0.0.1", call.agent.port)
    finally:
        stranger.close()
        call.close()


async def test_a_strangers_rtp_on_a_calls_port_is_never_forwarded(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    stranger = Peer()
    try:
        await _audio_still_flows(call, 1)
        for n in range(10):
            stranger.send_to(call.to_agent_side, rtp(0, n, n * 160, 0xBAD, b"\x99" * 160))
            stranger.send_to(call.to_callee_side, rtp(0, n, n * 160, 0xBAD, b"\x99" * 160))
        await asyncio.sleep(0.1)
        assert call.agent.drain() == [] and call.callee.drain() == []
        assert stranger.drain() == []
        await _audio_still_flows(call, 30)
        assert call.session.stats().agent.latched_to == ("127.0.0.1", call.agent.port)
    finally:
        stranger.close()
        call.close()


async def test_wrong_ssrc_reordered_duplicated_and_lost_packets_pass_as_they_come(
    plane: EmbeddedMediaPlane,
) -> None:
    call = bridged_call(plane)
    try:
        order = [0, 2, 1, 1, 3, 5, 9, 8, 8]  # reordered, duplicated, 4/6/7 lost
        for n in order:
            call.agent.send_to(call.to_agent_side, rtp(0, 500 + n, 160 * n, 0x1111, bytes([n]) * 160))
        call.agent.send_to(call.to_agent_side, rtp(0, 1, 1, 0x2222, b"\x77" * 160))  # another SSRC
        heard = [await call.callee.receive() for _ in range(len(order) + 1)]
        assert [p.seq - 500 for p in heard[:-1]] == order
        assert heard[-1].ssrc == 0x2222 and heard[-1].payload == b"\x77" * 160
        await _audio_still_flows(call, 40)
    finally:
        call.close()


async def test_concurrent_calls_never_hear_each_other(plane: EmbeddedMediaPlane) -> None:
    calls = [bridged_call(plane, name=f"call-{n}") for n in range(4)]
    try:
        for n, call in enumerate(calls):
            call.agent.send_audio(call.to_agent_side, 0, bytes([n]) * 160)
            call.callee.send_audio(call.to_callee_side, 0, bytes([100 + n]) * 160)
            # a stranger's garbage and cross-call RTP: another call's peer sending to this call's port
            other = calls[(n + 1) % len(calls)]
            other.agent.send_to(call.to_callee_side, rtp(0, 9, 9, 9, b"\xee" * 160))
            call.agent.send_to(call.to_agent_side, os.urandom(40))
        for n, call in enumerate(calls):
            assert (await call.callee.receive()).payload == bytes([n]) * 160
            assert (await call.agent.receive()).payload == bytes([100 + n]) * 160
        await asyncio.sleep(0.1)
        for call in calls:
            assert call.agent.drain() == [] and call.callee.drain() == []
    finally:
        for call in calls:
            call.close()


async def test_rtcp_is_relayed_between_the_legs(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    agent_rtcp, callee_rtcp = Peer(), Peer()
    try:
        report = struct.pack("!BBHI", 0x80, 201, 1, 0xABCD)  # an empty receiver report
        # the callee's RTCP port is its SDP's RTP port + 1: here a separate socket stands in for it
        callee_sdp = phone_sdp(call.callee.port, formats="0 101", extra=f"a=rtcp:{callee_rtcp.port}\r\n")
        call.session.accept_answer(Leg.CALLEE, callee_sdp)
        agent_rtcp.send_to((call.to_agent_side[0], call.to_agent_side[1] + 1), report)
        data, source = await callee_rtcp.receive_datagram()
        assert data == report
        assert source == (call.to_callee_side[0], call.to_callee_side[1] + 1)
    finally:
        agent_rtcp.close()
        callee_rtcp.close()
        call.close()


async def test_a_stranger_that_latched_first_loses_the_leg_to_its_sdp_address(
    plane: EmbeddedMediaPlane,
) -> None:
    call = bridged_call(plane)
    stranger = Peer()
    try:
        stranger.send_to(call.to_agent_side, rtp(0, 1, 160, 0xBAD, b"\x99" * 160))  # before the phone
        assert (await call.callee.receive()).payload == b"\x99" * 160  # it latched, for now
        await _audio_still_flows(call, 50)  # the phone sends from the address its SDP names
        stranger.send_to(call.to_agent_side, rtp(0, 2, 320, 0xBAD, b"\x99" * 160))
        await asyncio.sleep(0.05)
        assert call.callee.drain() == [] and stranger.drain() == []
        assert call.session.stats().agent.latched_to == ("127.0.0.1", call.agent.port)
    finally:
        stranger.close()
        call.close()


async def test_a_silent_leg_re_latches_to_its_own_ssrc_from_a_new_address(tmp_path: Path) -> None:
    first = free_ports(8)  # a plane ticking every 0.5 s: "too soon" below is well within a tick
    plane = EmbeddedMediaPlane(
        "127.0.0.1", first, first + 7, media_timeout=60, spool=tmp_path, tick_seconds=0.5
    )
    await plane.start()
    # behind NAT (SDP names 127.0.0.9); the NAT then gives the phone a new port
    call = bridged_call(plane, agent_address="127.0.0.9")
    moved, stranger = Peer(), Peer()
    try:
        await _audio_still_flows(call, 60)
        stranger.send_to(call.to_agent_side, rtp(0, 5, 800, 0xBAD, b"\x99" * 160))
        moved.ssrc = call.agent.ssrc
        moved.send_audio(call.to_agent_side, 0, b"\x61" * 160)  # too soon: the old source just spoke
        await asyncio.sleep(0.05)
        assert call.callee.drain() == []
        await asyncio.sleep(1.6)  # more than two ticks of silence from the latched source
        stranger.send_to(call.to_agent_side, rtp(0, 6, 960, 0xBAD, b"\x99" * 160))  # wrong SSRC
        moved.send_audio(call.to_agent_side, 0, b"\x62" * 160)
        assert (await call.callee.receive()).payload == b"\x62" * 160
        call.callee.send_audio(call.to_callee_side, 0, b"\x63" * 160)
        assert (await moved.receive()).payload == b"\x63" * 160
        assert call.callee.drain() == []
    finally:
        moved.close()
        stranger.close()
        call.close()
        await plane.stop()
