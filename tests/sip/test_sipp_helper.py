"""The SIPp helpers: a port taken between its pick and SIPp's bind is picked again, never a failed run."""

import socket
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from tests.conftest import HeldPort, free_ports
from tests.sip import conftest as sip_helpers
from tests.sip.conftest import SIPP, need, run_sipp, start_sipp, stop_sipp

pytestmark = pytest.mark.interop


@pytest.fixture
def taken_udp() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))  # SIPp binds its control socket on every address
        yield sock.getsockname()[1]


def first_pick(monkeypatch: pytest.MonkeyPatch, count: int, port: int) -> list[int]:
    """Make the helpers' first pick of `count` ports the (taken) `port`; returns the pending picks."""
    picks = [port]

    def pick(wanted: int, exclude: Collection[int] = ()) -> int:
        return picks.pop() if picks and wanted == count else free_ports(wanted, exclude)

    monkeypatch.setattr(sip_helpers, "free_ports", pick)
    return picks


async def test_taken_media_port_is_picked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken_udp: int
) -> None:
    need(SIPP)
    picks = first_pick(monkeypatch, 3, taken_udp)  # -mp: audio on N, video on N + 2
    held = HeldPort()
    proc = await start_sipp(["-sn", "uas", "-i", "127.0.0.1", "-p", str(held.port)], tmp_path, held)
    try:
        assert picks == [] and proc.returncode is None  # offered the taken port, running on another
    finally:
        await stop_sipp(proc)


async def test_taken_control_port_is_picked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken_udp: int
) -> None:
    need(SIPP)
    picks = first_pick(monkeypatch, 1, taken_udp)  # -cp
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as nobody:
        nobody.bind(("127.0.0.1", 0))  # a UAS that never answers: SIPp's one call times out
        args = ["-sn", "uac", f"127.0.0.1:{nobody.getsockname()[1]}", "-i", "127.0.0.1", "-m", "1",
                "-recv_timeout", "200"]  # fmt: skip
        result = await run_sipp(args, tmp_path, timeout=10)
    assert picks == []
    assert "errno = 98" not in result.stderr and result.returncode == 1, result.stderr[-1000:]
