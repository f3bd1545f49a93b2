"""The local ringback tone while the callee rings, replaced by early media; the media timeout."""

from __future__ import annotations

import asyncio

from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from sipline.media.tones import RINGBACK
from tests.media.calls import bridged_call, two_peers
from tests.media.peers import phone_sdp, platform_address


async def test_ringback_frames_arrive_then_stop_when_early_media_starts(plane: EmbeddedMediaPlane) -> None:
    with two_peers(plane, "ringing") as (session, _, agent, callee):
        session.accept_offer(Leg.AGENT, phone_sdp(agent.port, formats="8 101"))
        offer = session.make_offer(Leg.CALLEE)
        session.ringback(Leg.AGENT, True)
        tone = [await agent.receive() for _ in range(5)]
        assert {p.pt for p in tone} == {8}
        assert [p.payload for p in tone] == list(RINGBACK["PCMA"][:5])
        assert [p.seq - tone[0].seq for p in tone] == [0, 1, 2, 3, 4]
        assert [p.timestamp - tone[0].timestamp for p in tone] == [0, 160, 320, 480, 640]
        assert len({p.ssrc for p in tone}) == 1

        # the callee's 183 brings early media: it goes through instead of the tone
        session.accept_answer(Leg.CALLEE, phone_sdp(callee.port, formats="8"))
        callee.send_audio(platform_address(offer), 8, b"\x55" * 160)
        await asyncio.sleep(0.1)
        agent.drain()
        callee.send_audio(platform_address(offer), 8, b"\x66" * 160)
        assert (await agent.receive()).payload == b"\x66" * 160
        assert await agent.nothing_within(0.15)  # no tone frame any more


async def test_ringback_stops_when_asked(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    try:
        call.session.ringback(Leg.AGENT, True)
        await call.agent.receive()
        call.session.ringback(Leg.AGENT, False)
        await asyncio.sleep(0.05)
        call.agent.drain()
        assert await call.agent.nothing_within(0.15)
    finally:
        call.close()


async def test_media_timeout_fires_once_and_activity_is_reported(plane: EmbeddedMediaPlane) -> None:
    plane.media_timeout = 0.2
    call = bridged_call(plane)
    try:
        for _ in range(3):
            call.agent.send_audio(call.to_agent_side, 0)
            await asyncio.sleep(0.06)
        assert call.events.activity  # RTP flowed
        assert call.events.timeouts == []
        await asyncio.sleep(0.6)  # silence: many ticks pass the timeout
        assert len(call.events.timeouts) == 1
        assert call.events.timeouts[0] >= 0.2
    finally:
        call.close()


async def test_early_media_before_the_183_is_read_stays_latched_behind_nat(plane: EmbeddedMediaPlane) -> None:
    with two_peers(plane, "early") as (session, _, agent, callee):
        to_agent_side = platform_address(session.accept_offer(Leg.AGENT, phone_sdp(agent.port)))
        to_callee_side = platform_address(session.make_offer(Leg.CALLEE))
        callee.send_audio(to_callee_side, 0, b"\x70" * 160)  # the 183's RTP overtakes the 183
        assert (await agent.receive()).payload == b"\x70" * 160
        session.accept_answer(Leg.CALLEE, phone_sdp(callee.port, address="127.0.0.9", formats="0"))
        agent.send_audio(to_agent_side, 0, b"\x71" * 160)  # still reaches the callee's real address
        assert (await callee.receive()).payload == b"\x71" * 160
