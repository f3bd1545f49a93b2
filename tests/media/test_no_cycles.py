"""A released media session leaves no reference cycles (the call's own objects are checked in
tests/calls/test_no_cycles.py): its legs, protocols, DTMF decoders and recorder all go with it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from tests.garbage import paused_collector, sipline_garbage
from tests.media.calls import bridged_call
from tests.media.peers import rtp

__all__ = ["paused_collector"]  # a fixture, used by name


async def test_a_released_session_with_audio_dtmf_and_recording_leaves_no_cycles(
    plane: EmbeddedMediaPlane, paused_collector: None
) -> None:
    for _ in range(2):  # the second session meets warm caches: only what sessions leave remains
        call = bridged_call(plane)
        call.session.start_recording(str(uuid.uuid4()))
        call.agent.send_audio(call.to_agent_side, 0, b"\x11" * 160)
        assert (await call.callee.receive()).payload == b"\x11" * 160
        call.callee.send_audio(call.to_callee_side, 0, b"\x22" * 160)
        assert (await call.agent.receive()).payload == b"\x22" * 160
        press = rtp(101, 1, 8000, 0x4242, bytes((5, 0x80 | 10, 0, 160)), marker=True)
        call.callee.send_to(call.to_callee_side, press)
        await call.agent.receive()  # the press, relayed
        assert call.events.digits == [(Leg.CALLEE, "5")]
        call.close()
        await asyncio.sleep(0.05)  # the transports close on the next loop iterations
    assert plane.sessions() == 0
    assert sipline_garbage() == Counter()
