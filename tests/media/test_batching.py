"""media_batch_ms: under media load the relay's loop turns are spaced out, and it relays all the same."""

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

TICK = 0.05  # the plane's tick: the packet rate is measured once per tick


async def plane(tmp_path: Path, min_pps: int) -> EmbeddedMediaPlane:
    first = free_ports(RANGE)
    media = EmbeddedMediaPlane(
        "127.0.0.1",
        first,
        first + RANGE - 1,
        media_timeout=60,
        spool=tmp_path / "spool",
        tick_seconds=TICK,
        batch_seconds=0.002,
        batch_min_pps=min_pps,
    )
    await media.start()  # no call yet: the batcher waits without napping
    return media


@pytest.fixture
async def batching(tmp_path: Path) -> AsyncIterator[EmbeddedMediaPlane]:
    media = await plane(tmp_path, min_pps=0)  # from the first call on
    yield media
    await media.stop()


async def ticks(count: int) -> None:
    await asyncio.sleep(TICK * count + TICK / 2)


async def test_a_batching_relay_relays_every_packet_in_order(batching: EmbeddedMediaPlane) -> None:
    call = bridged_call(batching)
    try:
        await _audio_still_flows(call, 1)
        await ticks(2)
        assert batching.batching
        for n in range(50):  # a burst: many packets gathered per wake-up
            call.agent.send_audio(call.to_agent_side, 0, bytes([n]) * 160)
        received = [(await call.callee.receive()).payload for _ in range(50)]
        assert received == [bytes([n]) * 160 for n in range(50)]
        stats = call.session.stats()
        assert stats.agent.packets_in == 51 and stats.callee.packets_out == 51
    finally:
        call.close()
    await ticks(2)  # the last call gone: back to waiting without napping
    assert batching.sessions() == 0
    assert not batching.batching
    call = bridged_call(batching, name="call-2")  # and a new call still flows
    try:
        await _audio_still_flows(call, 100)
    finally:
        call.close()


@pytest.mark.parametrize("value", [-0.1, 5.1])
def test_media_batch_ms_is_bounded(value: float) -> None:
    with pytest.raises(ValueError, match="media_batch_ms"):
        Settings(media_batch_ms=value)


async def test_below_its_packet_rate_the_relay_does_not_batch(tmp_path: Path) -> None:
    media = await plane(tmp_path, min_pps=1_000_000)
    call = bridged_call(media)
    try:
        for _ in range(3):
            await _audio_still_flows(call, 20)
            await ticks(1)
        assert not media.batching  # a few hundred packets a second: every one relayed at once
    finally:
        call.close()
        await media.stop()


@pytest.mark.parametrize("value", [-1, 10_000_001])
def test_media_batch_min_pps_is_bounded(value: int) -> None:
    with pytest.raises(ValueError, match="media_batch_min_pps"):
        Settings(media_batch_min_pps=value)
