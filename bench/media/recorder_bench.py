"""What the recorder costs the relay per packet: ``Recorder.audio`` and its share of ``flush``.

Simulated calls, both legs sending 20 ms PCMU packets, every recorder flushed once per simulated
second (as the relay's tick does), written to a temporary spool (the first second, which creates
the files, not counted); each payload a new slice of its
datagram, as the relay passes it. Printed: microseconds per packet
for the audio calls, for the flushes spread over the packets, and both together; once with the
packets in order, once with 1% lost and 1% swapped with their successor (the recorder's slower
placement path). The recorders run on the real monotonic clock with a skew window wider than the
run, so that packets sent faster than real time are not re-anchored.

Run: python -m bench.media.recorder_bench [--calls 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sipline.media.port import Leg
from sipline.media.recording.recorder import Recorder

PACKET_TICKS = 160
PACKETS_PER_SECOND = 50


def arrival_order(count: int, disorder: float, seed: int) -> list[int]:
    """Packet indexes in arrival order: ``disorder`` of them lost, as many swapped with the next."""
    rng = random.Random(seed)
    order = list(range(count))
    for i in range(count - 1):
        if rng.random() < disorder:
            order[i], order[i + 1] = order[i + 1], order[i]
    return [i for i in order if rng.random() >= disorder]


def run(calls: int, seconds: int, disorder: float, spool: Path) -> tuple[float, float, int]:
    """Seconds spent in ``audio`` and in ``flush``, and the packets recorded."""
    datagram = bytes(12) + bytes(range(0x10, 0x10 + PACKET_TICKS))  # the relay slices its payload out
    recorders = [
        Recorder(spool, str(uuid.uuid4()), started_at=datetime.now(UTC), max_skew_seconds=seconds + 60)
        for _ in range(calls)
    ]
    orders = [arrival_order(seconds * PACKETS_PER_SECOND, disorder, seed) for seed in (1, 2)]
    legs = (Leg.AGENT, Leg.CALLEE)
    in_audio = in_flush = 0.0
    packets = 0
    for second in range(seconds):
        window = range(second * PACKETS_PER_SECOND, (second + 1) * PACKETS_PER_SECOND)
        batches = [[i for i in order if i in window] for order in orders]
        started = time.perf_counter()
        for recorder in recorders:
            audio = recorder.audio
            for leg, batch in zip(legs, batches, strict=True):
                for i in batch:
                    audio(leg, "PCMU", 0x1234, (5000 + i * PACKET_TICKS) & 0xFFFFFFFF, datagram[12:])
        flushing = time.perf_counter()
        for recorder in recorders:
            recorder.flush()
        if second:  # the first second opens the files, once a recording: not counted
            in_audio += flushing - started
            in_flush += time.perf_counter() - flushing
            packets += calls * sum(len(batch) for batch in batches)
    for recorder in recorders:
        recorder.close()
    return in_audio, in_flush, packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20, help="simulated seconds of audio per call")
    args = parser.parse_args()
    for label, disorder in (("in order", 0.0), ("1% lost, 1% swapped", 0.01)):
        best: tuple[float, float, int] | None = None
        for _ in range(3):
            with tempfile.TemporaryDirectory(prefix="recorder-bench-") as spool:
                result = run(args.calls, args.seconds, disorder, Path(spool))
            if best is None or sum(result[:2]) < sum(best[:2]):
                best = result
        assert best is not None
        in_audio, in_flush, packets = best
        print(
            f"{label:20}  audio {in_audio / packets * 1e6:5.2f} us/packet"
            f"  flush {in_flush / packets * 1e6:5.2f}  total {(in_audio + in_flush) / packets * 1e6:5.2f}"
            f"  ({packets} packets, best of 3)"
        )


if __name__ == "__main__":
    main()
