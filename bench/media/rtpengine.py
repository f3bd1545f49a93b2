"""rtpengine in userspace (`--table=-1`, no kernel module, no /etc config), recording to pcap,
driven over its ng protocol: one call per bench call, leg A as from-tag, leg B as to-tag."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import free_port
from bench.media.loadgen import start_favoured
from bench.media.ng import NgClient
from bench.media.sdp import audio_port, offer_sdp

RTPENGINE = shutil.which("rtpengine") or "/usr/bin/rtpengine"


class Rtpengine:
    name = "rtpengine"
    recording = True

    def __init__(self, process: subprocess.Popen[bytes], ng: NgClient, recordings: Path) -> None:
        self.process, self.ng, self.recordings = process, ng, recordings
        self.pid = process.pid
        self.call_ids: list[str] = []

    def open_calls(self, generator_ports: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """One recorded call per (leg A, leg B) pair; returns rtpengine's port for each leg."""
        targets = []
        for index, (port_a, port_b) in enumerate(generator_ports):
            call_id = f"bench-{index}-{time.monotonic_ns()}"
            offer = self.ng.command(
                "offer", {"call-id": call_id, "from-tag": "a", "sdp": offer_sdp(port_a, index)}
            )
            answer = self.ng.command(
                "answer",
                {
                    "call-id": call_id,
                    "from-tag": "a",
                    "to-tag": "b",
                    "sdp": offer_sdp(port_b, index),
                    "record call": "yes",
                },
            )
            # offer's SDP goes to B (where B sends), answer's to A (where A sends)
            targets.append((audio_port(answer["sdp"]), audio_port(offer["sdp"])))
            self.call_ids.append(call_id)
        return targets

    def close_calls(self) -> None:
        for call_id in self.call_ids:
            self.ng.command("delete", {"call-id": call_id, "from-tag": "a"})
        self.call_ids.clear()

    def recorded_bytes(self) -> int:
        """What its pcap recordings hold so far (all steps)."""
        return sum(path.stat().st_size for path in self.recordings.rglob("*") if path.is_file())


@contextmanager
def rtpengine_running(workdir: Path, ports: range, cpu: str = "0") -> Iterator[Rtpengine]:
    """rtpengine pinned to `cpu`, RTP ports from `ports`, pcap recordings under `workdir`."""
    ng_port = free_port(socket.SOCK_DGRAM)
    recordings = workdir / "rtpengine-recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    log = (workdir / "rtpengine.log").open("wb")
    command = [
        RTPENGINE,
        "--config-file=none",
        "--foreground",
        "--log-stderr",
        "--log-level=4",
        "--table=-1",
        "--interface=127.0.0.1",
        f"--listen-ng=127.0.0.1:{ng_port}",
        f"--port-min={ports.start}",
        f"--port-max={ports.stop - 1}",
        "--recording-method=pcap",
        f"--recording-dir={recordings}",
        "--timeout=60",
        "--delete-delay=0",
    ]
    process = start_favoured(command, cpu, stdout=log, stderr=subprocess.STDOUT)
    ng = NgClient(("127.0.0.1", ng_port), timeout=1.0)
    try:
        _wait_ready(ng, process, workdir / "rtpengine.log")
        ng.sock.settimeout(10.0)
        yield Rtpengine(process, ng, recordings)
    finally:
        ng.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(ng: NgClient, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"rtpengine exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            ng.command("ping", {}, expect=b"pong")
        except OSError:  # not listening yet (a timeout is an OSError too)
            time.sleep(0.1)
        else:
            return
    raise SystemExit(f"rtpengine did not answer ng ping:\n{log.read_text()[-2000:]}")
