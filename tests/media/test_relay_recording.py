"""Recording through the relay: every audio packet of both legs reaches the recorder, agent left."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sipline.media import g711
from sipline.media.port import Leg
from sipline.media.relay import EmbeddedMediaPlane
from tests.media.calls import bridged_call


def _samples(path: Path) -> list[int]:
    data = path.read_bytes()
    return [int.from_bytes(data[i : i + 2], "little", signed=True) for i in range(0, len(data), 2)]


async def test_both_legs_are_recorded_in_their_own_channel(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane, agent_formats="0", callee_formats="8")  # and transcoded between
    recording_id = str(uuid.uuid4())
    try:
        call.session.start_recording(recording_id)
        for _ in range(10):
            call.agent.send_audio(call.to_agent_side, 0, bytes([0x9F]) * 160)
            call.callee.send_audio(call.to_callee_side, 8, bytes([0x2A]) * 160)
            await asyncio.sleep(0.02)
        for _ in range(10):
            await call.callee.receive()
            await call.agent.receive()
        raw = call.session.stop_recording()
        assert raw is not None and raw.recording_id == recording_id
        assert raw.directory.parent == plane.spool
        left, right = _samples(raw.left), _samples(raw.right)
        assert set(left) - {0} == {g711.ulaw_to_linear(0x9F)}  # the agent's PCMU, decoded
        assert set(right) - {0} == {g711.alaw_to_linear(0x2A)}  # the callee's PCMA
        assert len([s for s in left if s]) == 1600 and len([s for s in right if s]) == 1600
        assert call.session.stop_recording() is None  # nothing records any more
    finally:
        call.close()


async def test_release_stops_a_recording_and_later_audio_is_not_recorded(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    call.session.start_recording(str(uuid.uuid4()))
    call.agent.send_audio(call.to_agent_side, 0)
    await call.callee.receive()
    call.session.release()
    assert call.session.stop_recording() is None
    call.agent.close()
    call.callee.close()


async def test_telephone_events_are_not_recorded_as_audio(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)
    try:
        call.session.start_recording(str(uuid.uuid4()))
        call.agent.send_audio(call.to_agent_side, 101, bytes((1, 0, 0, 160)))
        await call.callee.receive()
        raw = call.session.stop_recording()
        assert raw is not None
        assert not raw.left.exists() or set(_samples(raw.left)) <= {0}
        assert call.events.digits == [(Leg.AGENT, "1")]
    finally:
        call.close()
