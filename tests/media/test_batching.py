"""media_batch_ms: the relay's loop naps once per turn while calls are up, and relays all the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.config import Settings
from sipline.media.relay import EmbeddedMediaPlane
from tests.conftest import free_ports
from tests.media.calls import bridged_call
from tests.media.conftest import RANGE
from tests.media.test_bad_media import _audio_still_flows


@pytest.fixture
async def batching(tmp_path: Path) -> AsyncIterator[EmbeddedMediaPlane]:
    first = free_ports(RANGE)
    media = EmbeddedMediaPlane(
        "127.0.0.1", first, first + RANGE - 1, media_timeout=60, spool=tmp_path / "spool", batch_seconds=0.002
    )
    await media.start()  # no call yet: the batcher waits without napping
    yield media
    await media.stop()


async def test_a_batching_relay_relays_every_packet_in_order(batching: EmbeddedMediaPlane) -> None:
    call = bridged_call(batching)
    try:
        await _audio_still_flows(call, 1)
        for n in range(50):  # a burst: many packets gathered per wake-up
            call.agent.send_audio(call.to_agent_side, 0, bytes([n]) * 160)
        received = [(await call.callee.receive()).payload for _ in range(50)]
        assert received == [bytes([n]) * 160 for n in range(50)]
        stats = call.session.stats()
        assert stats.agent.packets_in == 51 and stats.callee.packets_out == 51
    finally:
        call.close()
    await asyncio.sleep(0.05)  # the last call gone: back to waiting without napping
    assert batching.sessions() == 0
    call = bridged_call(batching, name="call-2")  # and a new call still flows
    try:
        await _audio_still_flows(call, 100)
    finally:
        call.close()


@pytest.mark.parametrize("value", [-0.1, 5.1])
def test_media_batch_ms_is_bounded(value: float) -> None:
    with pytest.raises(ValueError, match="media_batch_ms"):
        Settings(media_batch_ms=value)
