"""Audio through the embedded relay between two real UDP peers: anchoring, latching, payload types."""

from __future__ import annotations

import asyncio

from sipline.media import g711
from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from tests.media.calls import bridged_call, two_peers
from tests.media.peers import Peer, phone_sdp, platform_address, rtp


async def test_each_peer_sees_only_the_platforms_address(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    try:
        for sdp in (call.agent_answer, call.callee_offer):
            text = sdp.decode()
            assert "127.0.0.1" in text
            assert str(call.agent.port) not in text and str(call.callee.port) not in text
            assert f"a=rtcp:{platform_address(sdp)[1] + 1}" in text
        assert call.to_agent_side != call.to_callee_side

        call.agent.send_audio(call.to_agent_side, 0, b"\x11" * 160)
        heard = await call.callee.receive()
        assert heard.payload == b"\x11" * 160
        assert heard.source == call.to_callee_side  # from the port the callee was given

        call.callee.send_audio(call.to_callee_side, 0, b"\x22" * 160)
        heard = await call.agent.receive()
        assert heard.payload == b"\x22" * 160
        assert heard.source == call.to_agent_side
    finally:
        call.close()


async def test_audio_flows_both_ways_in_order_as_sent(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    try:
        for n in range(20):
            call.agent.send_audio(call.to_agent_side, 0, bytes([n]) * 160)
            call.callee.send_audio(call.to_callee_side, 0, bytes([100 + n]) * 160)
        to_callee = [(await call.callee.receive()).payload[0] for _ in range(20)]
        to_agent = [(await call.agent.receive()).payload[0] for _ in range(20)]
        assert to_callee == list(range(20))
        assert to_agent == [100 + n for n in range(20)]
        stats = call.session.stats()
        assert stats.agent.packets_in == 20 and stats.callee.packets_out == 20
    finally:
        call.close()


async def test_a_phone_behind_nat_gets_audio_both_ways(plane: EmbeddedMediaPlane) -> None:
    # its SDP names 127.0.0.9, where nothing listens; it really sends from 127.0.0.1
    call = bridged_call(plane, agent_address="127.0.0.9")
    try:
        call.callee.send_audio(call.to_callee_side, 0)  # before latching: goes to 127.0.0.9, lost
        await asyncio.sleep(0.05)
        call.agent.send_audio(call.to_agent_side, 0, b"\x33" * 160)
        assert (await call.callee.receive()).payload == b"\x33" * 160
        call.callee.send_audio(call.to_callee_side, 0, b"\x44" * 160)
        assert (await call.agent.receive()).payload == b"\x44" * 160
        assert call.session.stats().agent.latched_to == ("127.0.0.1", call.agent.port)
    finally:
        call.close()


async def test_telephone_event_payload_type_is_mapped_between_legs(plane: EmbeddedMediaPlane) -> None:
    with two_peers(plane, "pt-map") as (session, _, agent, callee):
        answer = session.accept_offer(Leg.AGENT, phone_sdp(agent.port, formats="0 101"))
        offer = session.make_offer(Leg.CALLEE)
        # the callee answers with its own number for telephone-event
        session.accept_answer(Leg.CALLEE, phone_sdp(callee.port, formats="0 96"))
        to_agent_side, to_callee_side = platform_address(answer), platform_address(offer)
        callee.send_to(to_callee_side, _event(96, 5))
        heard = await agent.receive()
        assert heard.pt == 101 and heard.payload[0] == 5
        agent.send_to(to_agent_side, _event(101, 7))
        heard = await callee.receive()
        assert heard.pt == 96 and heard.payload[0] == 7


async def test_pcmu_and_pcma_legs_are_transcoded(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane, agent_formats="0", callee_formats="8")
    try:
        ulaw = bytes(range(0, 256, 2)) + bytes(range(1, 64, 2))
        call.agent.send_audio(call.to_agent_side, 0, ulaw)
        heard = await call.callee.receive()
        assert heard.pt == 8
        assert heard.payload == ulaw.translate(g711.ULAW_TO_ALAW)
        alaw = bytes(range(160))
        call.callee.send_audio(call.to_callee_side, 8, alaw)
        heard = await call.agent.receive()
        assert heard.pt == 0
        assert heard.payload == alaw.translate(g711.ALAW_TO_ULAW)
    finally:
        call.close()


async def test_release_frees_the_ports(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    assert plane.sessions() == 1 and plane.ports.in_use == 2
    call.close()
    call.session.release()  # twice is harmless
    assert plane.sessions() == 0 and plane.ports.in_use == 0


def _event(pt: int, digit: int) -> bytes:
    return rtp(pt, 1, 8000, 0xABC, bytes((digit, 0x00)) + (160).to_bytes(2, "big"))


async def test_a_re_invite_moves_the_leg_and_relays_hold(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    moved = Peer()
    try:
        call.agent.send_audio(call.to_agent_side, 0)
        await call.callee.receive()  # latched to the phone's first address
        # the phone puts the callee on hold from another port: its re-INVITE's offer
        answer = call.session.accept_offer(
            Leg.AGENT, phone_sdp(moved.port, formats="0 101").replace(b"a=sendrecv", b"a=sendonly")
        )
        assert b"a=recvonly" in answer and platform_address(answer) == call.to_agent_side
        offer = call.session.make_offer(Leg.CALLEE)
        assert b"a=sendonly" in offer and platform_address(offer) == call.to_callee_side
        call.session.accept_answer(
            Leg.CALLEE, phone_sdp(call.callee.port, formats="0").replace(b"a=sendrecv", b"a=recvonly")
        )
        moved.send_audio(call.to_agent_side, 0, b"\x5a" * 160)  # music on hold
        assert (await call.callee.receive()).payload == b"\x5a" * 160
        call.callee.send_audio(call.to_callee_side, 0, b"\x5b" * 160)
        assert (await moved.receive()).payload == b"\x5b" * 160
        assert await call.agent.nothing_within(0.05)  # the old address hears nothing more
    finally:
        moved.close()
        call.close()


async def test_stopping_the_plane_releases_every_session(plane: EmbeddedMediaPlane) -> None:
    calls = [bridged_call(plane, name=f"left-{n}") for n in range(3)]
    assert plane.sessions() == 3
    await plane.stop()
    assert plane.sessions() == 0 and plane.ports.in_use == 0
    for call in calls:
        call.close()  # the peers' sockets; the session's release is a no-op now
