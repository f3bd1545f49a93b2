"""The embedded relay under test, in a Python process of its own (run as `python -m
bench.media.embedded PORT_MIN PORT_MAX SPOOL_DIR [BATCH_MS]`, on uvloop like `sipline serve`).

It allocates sessions through the media port exactly as a call does: the agent leg offers (its
answer names the relay's port for leg A), the relay offers to the callee leg and takes its answer
(the offer names the relay's port for leg B), then recording starts. The driver talks to it with
JSON lines on stdin/stdout:

    {"open": [[port_a, port_b], ...], "record": true}  -> {"targets": [[a, b], ...], "recording": ...}
    {"close": true}                                     -> {"relayed": N, "dropped": N, "recorded_bytes": N}
    {"profile": "PATH"}  (before "open": cProfile from the open to the close, dumped to PATH)
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.media.sdp import audio_port, offer_sdp
from sipline.media.port import Leg, MediaError, MediaPlane, MediaSession, RawRecording
from sipline.media.relay import EmbeddedMediaPlane
from sipline.runtime import GC_THRESHOLDS, run


class QuietCall:
    """The call side of a bench session: counts what the relay reports, never ends anything."""

    def __init__(self) -> None:
        self.timeouts = 0
        self.failures: list[str] = []

    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None:
        pass

    def media_timeout(self, idle_seconds: float) -> None:
        self.timeouts += 1

    def media_activity(self, at: datetime) -> None:
        pass

    def recording_failed(self, reason: str) -> None:
        self.failures.append(reason)


def embedded_plane(
    port_min: int, port_max: int, spool: Path, batch_ms: float, batch_min_pps: int
) -> MediaPlane:
    """The embedded relay over RTP ports `port_min`..`port_max`, recording into `spool`."""
    return EmbeddedMediaPlane(
        "127.0.0.1",
        port_min,
        port_max,
        media_timeout=3600.0,
        spool=spool,
        batch_seconds=batch_ms / 1000,
        batch_min_pps=batch_min_pps,
    )


class LoopLag:
    """How late a 10 ms timer fires on the relay's loop: the stalls every packet behind them waits out."""

    PERIOD = 0.01

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lags: list[float] = []
        self.handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        self.lags.clear()
        self._due = self.loop.time() + self.PERIOD
        self.handle = self.loop.call_at(self._due, self._fired)

    def _fired(self) -> None:
        now = self.loop.time()
        self.lags.append(now - self._due)
        self._due = now + self.PERIOD
        self.handle = self.loop.call_at(self._due, self._fired)

    def stop(self) -> dict[str, float]:
        if self.handle is not None:
            self.handle.cancel()
        lags = sorted(self.lags) or [0.0]
        return {"lag_p99_ms": lags[int(len(lags) * 0.99)] * 1e3, "lag_max_ms": lags[-1] * 1e3}


class Bench:
    def __init__(self, plane: MediaPlane) -> None:
        self.plane = plane
        self.sessions: list[tuple[MediaSession, QuietCall]] = []
        self.profile: cProfile.Profile | None = None
        self.profile_path = ""
        self.lag = LoopLag(asyncio.get_running_loop())

    async def open(self, pairs: list[list[int]], record: bool) -> dict[str, Any]:
        targets, recording = [], record
        if self.profile_path:
            self.profile = cProfile.Profile()
        for index, (port_a, port_b) in enumerate(pairs):
            call = QuietCall()
            session = self.plane.allocate(f"bench-{index}-{uuid.uuid4().hex[:8]}", call)
            self.sessions.append((session, call))
            towards_a = audio_port(session.accept_offer(Leg.AGENT, offer_sdp(port_a, index)))
            towards_b = audio_port(session.make_offer(Leg.CALLEE))
            session.accept_answer(Leg.CALLEE, offer_sdp(port_b, index))
            targets.append([towards_a, towards_b])
            if recording:
                try:
                    session.start_recording(str(uuid.uuid4()))
                except (NotImplementedError, MediaError) as error:
                    call.failures.append(repr(error))
                if call.failures:  # the relay reports a recording it cannot make, and goes on
                    print(f"recording not started: {call.failures[0]}", file=sys.stderr)
                    recording = False
        await asyncio.sleep(0.1)  # the sockets attach to the loop
        gc.collect()
        if self.profile is not None:
            self.profile.enable()
        self.lag.start()
        return {"targets": targets, "recording": recording}

    def close(self) -> dict[str, Any]:
        lag = self.lag.stop()
        if self.profile is not None:
            self.profile.disable()
            self.profile.dump_stats(self.profile_path)
            self.profile = None
        relayed = dropped = recorded = 0
        failures: list[str] = []
        for session, call in self.sessions:
            raw: RawRecording | None = session.stop_recording()
            stats = session.release()
            relayed += stats.agent.packets_out + stats.callee.packets_out
            dropped += stats.agent.dropped + stats.callee.dropped
            if raw is not None:
                recorded += sum(path.stat().st_size for path in (raw.left, raw.right) if path.exists())
            failures += call.failures
        self.sessions.clear()
        counts = {"relayed": relayed, "dropped": dropped, "recorded_bytes": recorded}
        return counts | {"failures": failures[:5]} | lag


async def serve(port_min: int, port_max: int, spool: Path, batch_ms: float, batch_min_pps: int) -> None:
    plane = embedded_plane(port_min, port_max, spool, batch_ms, batch_min_pps)
    await plane.start()
    bench = Bench(plane)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    try:
        while line := await reader.readline():
            request = json.loads(line)
            if "profile" in request:
                bench.profile_path = str(request["profile"])
                answer: dict[str, Any] = {"profiling": True}
            elif "open" in request:
                answer = await bench.open(request["open"], bool(request.get("record")))
            elif "close" in request:
                answer = bench.close()
            else:
                answer = {"error": f"unknown request {sorted(request)}"}
            print(json.dumps(answer), flush=True)
    finally:
        await plane.stop()


def main() -> None:
    port_min, port_max, spool = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    batch_ms, batch_min_pps = float(sys.argv[4]), int(sys.argv[5])
    gc.freeze()  # like `sipline serve`: start-up objects out of the collector's sight
    gc.set_threshold(*GC_THRESHOLDS)
    run(serve(port_min, port_max, spool, batch_ms, batch_min_pps))


if __name__ == "__main__":
    main()
