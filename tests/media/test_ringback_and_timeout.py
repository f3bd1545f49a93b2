"""The local ringback tone while the callee rings, replaced by early media; the media timeout."""

from __future__ import annotations

import asyncio

from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from sipline.media.tones import RINGBACK
from tests.media.calls import bridged_call
from tests.media.peers import Events, Peer, phone_sdp, platform_address


async def test_ringback_frames_arrive_then_stop_when_early_media_starts(plane: EmbeddedMediaPlane) -> None:
    events = Events()
    session = plane.allocate("ringing", events)
    agent, callee = Peer(), Peer()
    try:
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
    finally:
        session.release()
        agent.close()
        callee.close()


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
