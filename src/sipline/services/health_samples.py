"""A few of this node's figures, sampled every ``health_sample_interval`` seconds into a bounded ring
(``health_sample_history`` samples) for the console health page's charts.

Node-local by nature: calls, media sessions and the event loop are this process's; the ring lives in
memory and starts empty at each start. /metrics exports the same figures for a long history.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class NodeFigures:
    calls: int  # calls in progress (click-to-call and handset)
    media_sessions: int
    registered_phones: int


@dataclass(frozen=True, slots=True)
class HealthSample:
    at: datetime  # UTC
    figures: NodeFigures
    loop_lag_ms: float  # how late the sampler's own timer fired: the event loop's backlog


class HealthSampler:
    """One per node, built by the composition root; ``run()`` is one of the platform's background tasks."""

    def __init__(
        self,
        read: Callable[[], NodeFigures],
        *,
        interval: float,
        history: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if interval <= 0 or history < 1:
            raise ValueError("the interval must be positive and the history hold a sample")
        self._read = read
        self.interval = interval
        self._clock = clock
        self._samples: deque[HealthSample] = deque(maxlen=history)

    def samples(self) -> list[HealthSample]:
        """Oldest first."""
        return list(self._samples)

    def sample(self, loop_lag: float) -> HealthSample:
        """Take one sample now (``loop_lag`` in seconds); the oldest goes once the ring is full."""
        taken = HealthSample(self._clock(), self._read(), round(max(0.0, loop_lag) * 1000, 2))
        self._samples.append(taken)
        return taken

    async def run(self) -> None:
        """A sample now, then one every interval, until cancelled."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(0)  # the first lag: one turn of the loop
        lag = loop.time() - started
        while True:
            self.sample(lag)
            started = loop.time()
            await asyncio.sleep(self.interval)
            lag = loop.time() - started - self.interval
