"""The driver's side of the embedded relay: `bench.media.embedded` started pinned to a CPU, its
sessions opened and closed with JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.media.loadgen import start_favoured

ROOT = Path(__file__).resolve().parents[2]


class EmbeddedRelay:
    name = "embedded"

    def __init__(self, process: subprocess.Popen[str], record: bool, profile: Path | None) -> None:
        self.process = process
        self.pid = process.pid
        self.record = record
        self.recording = False  # what the relay did, known once calls are open
        self.profile = profile
        self.last_close: dict[str, Any] = {}

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the embedded relay exited ({self.process.wait()}); see its stderr above")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"the embedded relay: {answer['error']}")
        return answer

    def open_calls(self, generator_ports: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if self.profile is not None:
            self.ask({"profile": str(self.profile)})
        answer = self.ask({"open": generator_ports, "record": self.record})
        self.recording = bool(answer["recording"])
        return [(int(a), int(b)) for a, b in answer["targets"]]

    def close_calls(self) -> None:
        self.last_close = self.ask({"close": True})


@contextmanager
def embedded_running(
    workdir: Path,
    ports: range,
    record: bool = True,
    profile: Path | None = None,
    cpu: str = "0",
    batch_ms: float = 0.0,
    batch_min_pps: int = 0,
) -> Iterator[EmbeddedRelay]:
    """The embedded relay in its own process pinned to `cpu`, RTP ports from `ports`, with
    `media_batch_ms` = `batch_ms` and `media_batch_min_pps` = `batch_min_pps`."""
    spool = workdir / "embedded-recordings"
    spool.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.media.embedded",
        str(ports.start),
        str(ports.stop - 1),
        str(spool),
        str(batch_ms),
        str(batch_min_pps),
    ]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    }
    process = start_favoured(
        command, cpu, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        if not process.stdout.readline():
            raise SystemExit(f"the embedded relay did not start (exit {process.wait()})")
        yield EmbeddedRelay(process, record, profile)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(10)
