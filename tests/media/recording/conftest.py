"""A recorder on a clock the test moves (placement depends on arrival time; tests never sleep)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sipline.media.port import Leg
from sipline.media.recording.recorder import Recorder

PACKET_SECONDS = 0.02
PACKET_TICKS = 160
STARTED_AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    spool: Path
    clock: Clock
    failures: list[str] = field(default_factory=list)

    def recorder(
        self,
        recording_id: str | None = None,
        on_failure: Callable[[str], None] | None = None,
        **options: float,
    ) -> Recorder:
        return Recorder(
            self.spool,
            str(uuid.uuid4()) if recording_id is None else recording_id,
            started_at=STARTED_AT,
            on_failure=on_failure or self.failures.append,
            clock=self.clock,
            **options,
        )

    def send(
        self,
        recorder: Recorder,
        leg: Leg,
        codec: str,
        payloads: list[bytes],
        *,
        ssrc: int = 0x1234,
        first_timestamp: int = 5000,
        order: Iterable[int] | None = None,
        at: Callable[[int], float] | None = None,
    ) -> None:
        """Sends packet i (timestamp first + 160 i) at ``at(i)`` (default: 20 ms apart from now)."""
        start = self.clock.now
        arrival = at or (lambda i: start + i * PACKET_SECONDS)
        for i in order if order is not None else range(len(payloads)):
            self.clock.now = arrival(i)
            timestamp = (first_timestamp + i * PACKET_TICKS) % 2**32
            recorder.audio(leg, codec, ssrc, timestamp, payloads[i])


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(spool=tmp_path / "spool", clock=Clock())
