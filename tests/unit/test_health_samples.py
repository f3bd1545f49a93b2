"""The health page's sample ring (services/health_samples.py): bounded, oldest dropped, UTC times."""

import asyncio
from datetime import UTC, datetime, timedelta

from sipline.services.health_samples import HealthSampler, NodeFigures


def test_the_ring_keeps_the_newest_samples_up_to_its_size() -> None:
    moments = iter(datetime(2026, 12, 2, tzinfo=UTC) + timedelta(seconds=10 * n) for n in range(100))
    counter = iter(range(100))
    sampler = HealthSampler(
        lambda: NodeFigures(next(counter), 1, 2), interval=10, history=3, clock=lambda: next(moments)
    )
    for lag in (0.0, 0.0015, -1.0, 0.25, 0.5):
        sampler.sample(lag)
    kept = sampler.samples()
    assert [sample.figures.calls for sample in kept] == [2, 3, 4]
    assert [sample.loop_lag_ms for sample in kept] == [0.0, 250.0, 500.0]  # never negative
    assert kept[0].at == datetime(2026, 12, 2, 0, 0, 20, tzinfo=UTC)


async def test_running_samples_at_once_then_every_interval() -> None:
    sampler = HealthSampler(lambda: NodeFigures(0, 0, 0), interval=1, history=10)
    task = asyncio.create_task(sampler.run())
    await asyncio.sleep(0.1)
    assert len(sampler.samples()) == 1  # the first at start: the charts are never empty
    await asyncio.sleep(1.05)
    task.cancel()
    samples = sampler.samples()
    assert len(samples) == 2 and samples[0].at.tzinfo is UTC
    assert 0 <= samples[1].loop_lag_ms < 500
