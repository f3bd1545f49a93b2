"""bench/media cannot rot: its C load generator builds and measures, its ng encoding reads back, and
a short run through the embedded relay carries every packet."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench.media.loadgen import compile_loadgen, run_step
from bench.media.ng import Bencodable, bdecode, bencode
from bench.media.ports import free_port_ranges
from bench.media.relay_process import embedded_running


def test_bencode_reads_back_what_it_wrote() -> None:
    message: dict[str, Bencodable] = {"command": "offer", "call-id": "c1", "flags": ["a"], "port": 4000}
    assert bdecode(bencode(message)) == {
        "command": b"offer",
        "call-id": b"c1",
        "flags": [b"a"],
        "port": 4000,
    }


@pytest.mark.parametrize("garbage", [b"", b"d3:abc", b"5:ab", b"i12", b"di1e1:xe", b"1:ab"])
def test_bdecode_refuses_malformed_replies(garbage: bytes) -> None:
    with pytest.raises(ValueError):
        bdecode(garbage)


def run_generator(
    binary: Path, calls: int, seconds: float, targets_for: Callable[[list[int]], list[int]]
) -> dict[str, Any]:
    command = [str(binary), str(calls), str(seconds), "0.2"]
    generator = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert generator.stdin is not None and generator.stdout is not None
    ports = [int(port) for port in generator.stdout.readline().split()[1:]]
    targets = targets_for(ports)
    generator.stdin.write("TARGETS " + " ".join(map(str, targets)) + "\n")
    generator.stdin.flush()
    out, _ = generator.communicate(timeout=30)
    summary: dict[str, Any] = json.loads(out.splitlines()[-1])
    return summary


@pytest.mark.slow
def test_the_generator_counts_every_packet_of_a_direct_call(tmp_path: Path) -> None:
    """Legs aimed at each other (no relay): all received, none lost or misrouted."""
    binary = compile_loadgen(tmp_path)

    def each_other(ports: list[int]) -> list[int]:
        return [port for a, b in zip(ports[0::2], ports[1::2], strict=True) for port in (b, a)]

    summary = run_generator(binary, 3, 1.0, each_other)
    assert summary["sent"] == summary["received"] and summary["lost"] == 0
    assert summary["misrouted"] == 0 and summary["calls_zero_loss"] == 3
    assert summary["sent"] >= 3 * 2 * 50  # 1.2 s at 50 packets/s per leg


@pytest.mark.slow
def test_the_generator_counts_what_never_arrives(tmp_path: Path) -> None:
    """Legs aimed at their own sockets: the packets come back as the wrong leg, none counted received."""
    binary = compile_loadgen(tmp_path)
    summary = run_generator(binary, 2, 0.5, lambda ports: ports)
    assert summary["received"] == 0 and summary["lost"] == summary["sent"] > 0
    assert summary["misrouted"] == summary["sent"] and summary["calls_zero_loss"] == 0


@pytest.mark.slow
def test_two_recorded_calls_through_the_embedded_relay_lose_nothing(tmp_path: Path) -> None:
    """The bench's own path end to end: the relay in its process, sessions through the media port,
    2 calls for a second; every packet comes out of the other leg, and the relay counts them too."""
    binary = compile_loadgen(tmp_path)
    (ports,) = free_port_ranges(1, 64)
    with embedded_running(tmp_path, ports, record=True, cpu="0-1") as relay:
        step = run_step(binary, relay, 2, 1.0, 0.2, cpu="0-1")
    assert step.summary["sent"] >= 2 * 2 * 50
    assert step.lost == 0 and step.summary["misrouted"] == 0 and step.zero_loss_calls == 2
    assert relay.last_close["relayed"] == step.summary["received"]
    assert relay.recording and relay.last_close["recorded_bytes"] > 0
    assert step.relayed > 0
