"""Trunk reachability against real peers on loopback: SIPp as a carrier answering OPTIONS (up, with its
code and round trip), the same carrier gone (down after N pings, its last answer kept), addresses
where nothing listens (UDP: no answer in time; TCP: connection refused), and the sandbox carrier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sipline.bootstrap import Platform
from sipline.domain.trunk_health import PingFailure, TrunkHealth, TrunkState
from sipline.sip.transaction import State
from tests.conftest import HeldPort, free_port
from tests.sip.conftest import SIPP, need, run_sipp, sipp_listening

pytestmark = pytest.mark.interop

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
DOWN_AFTER = 2


@pytest.fixture
def carrier() -> HeldPort:
    return HeldPort()


@pytest.fixture
def settings_overrides(carrier: HeldPort) -> dict[str, object]:
    silent = free_port()  # nothing listens there (UDP, TCP)
    return {
        "trunks": {
            "carrier": f"sip:acme:s3cret@127.0.0.1:{carrier.port}",
            "silent-udp": f"sip:127.0.0.1:{silent}",
            "silent-tcp": f"sip:127.0.0.1:{silent};transport=tcp",
        },
        "trunk_ping_interval": 5,  # the least allowed; these tests ping again themselves
        "trunk_ping_timeout": 1,
        "trunk_down_after": DOWN_AFTER,
    }


@pytest.fixture
async def running(platform: Platform, carrier: HeldPort) -> AsyncIterator[Platform]:
    await platform.start_sandbox()
    await platform.sip.start()
    yield platform
    await platform.sip.stop()
    assert platform.sandbox is not None
    await platform.sandbox.stop()
    carrier.release()


def sipp_carrier(carrier: HeldPort, tmp_path: Path, status_line: str = "200 OK") -> list[str]:
    """SIPp answering one OPTIONS with ``status_line`` (SIPp reads a scenario's codes as it loads it)."""
    scenario = tmp_path / "options_uas.xml"
    text = (SCENARIOS / "options_uas.xml").read_text()
    scenario.write_text(text.replace("SIP/2.0 200 OK", f"SIP/2.0 {status_line}"))
    return ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(carrier.port), "-m", "1"]


async def until_state(platform: Platform, name: str, state: TrunkState, timeout: float = 10) -> TrunkHealth:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (health := platform.trunk_health.health(name)).state is not state:
        assert loop.time() < deadline, (name, health)
        await asyncio.sleep(0.05)
    return health


def metric(platform: Platform, line_start: str) -> float | None:
    for line in platform.metrics.expose().decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return None


async def test_a_carrier_answering_options_is_up_and_down_once_it_is_gone(
    running: Platform, carrier: HeldPort, tmp_path: Path
) -> None:
    need(SIPP)
    sipp = asyncio.create_task(run_sipp(sipp_carrier(carrier, tmp_path), tmp_path, timeout=20, held=carrier))
    await sipp_listening(carrier)
    before = datetime.now(UTC)
    monitor = asyncio.create_task(running.trunk_health.run())  # the platform's loop: a round at once
    try:
        up = await until_state(running, "carrier", TrunkState.UP)
        result = await sipp
        assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]  # it got 1 OPTIONS
    finally:
        monitor.cancel()
    assert up.last_status == 200 and up.failures == 0 and up.last_failure is None
    assert up.rtt is not None and 0 < up.rtt < 1
    assert up.last_sent is not None and before <= up.last_sent <= datetime.now(UTC)
    assert up.last_answered is not None and up.last_answered.utcoffset() == timedelta(0)
    sandbox = running.trunk_health.health("sandbox")  # the built-in carrier answers OPTIONS too
    assert (sandbox.state, sandbox.last_status) == (TrunkState.UP, 200)
    assert metric(running, 'sipline_trunk_up{trunk="carrier"}') == 1.0
    assert metric(running, 'sipline_trunk_ping_seconds{trunk="carrier"}') == pytest.approx(up.rtt)

    # SIPp has exited: nothing answers on the carrier's port any more
    await running.trunk_health.ping_all()
    still = running.trunk_health.health("carrier")
    assert (still.state, still.failures, still.last_failure) == (TrunkState.UP, 1, PingFailure.TIMEOUT)
    await running.trunk_health.ping_all()
    down = running.trunk_health.health("carrier")
    assert (down.state, down.failures) == (TrunkState.DOWN, DOWN_AFTER)
    assert down.last_status == 200 and down.last_answered == up.last_answered  # the last answer kept
    assert down.last_sent is not None and down.last_sent > up.last_sent
    assert metric(running, 'sipline_trunk_up{trunk="carrier"}') == 0.0
    # pings given up on leave no transaction retransmitting (answered ones wait out timer K)
    assert {tx.state for tx in running.sip.transactions.client.values()} == {State.COMPLETED}


async def test_a_carrier_refusing_options_is_still_up_with_its_code(
    running: Platform, carrier: HeldPort, tmp_path: Path
) -> None:
    need(SIPP)
    args = sipp_carrier(carrier, tmp_path, "403 Forbidden")
    sipp = asyncio.create_task(run_sipp(args, tmp_path, timeout=20, held=carrier))
    await sipp_listening(carrier)
    await running.trunk_health.ping_all()
    assert (await sipp).returncode == 0
    health = running.trunk_health.health("carrier")
    assert (health.state, health.last_status) == (TrunkState.UP, 403)


async def test_trunks_where_nothing_listens_are_down_after_n_pings(running: Platform) -> None:
    monitor = running.trunk_health
    await monitor.ping_all()
    for name in ("silent-udp", "silent-tcp"):
        first = monitor.health(name)
        assert (first.state, first.failures) == (TrunkState.UNKNOWN, 1)
    assert metric(running, 'sipline_trunk_up{trunk="silent-udp"}') == 0.0
    assert metric(running, 'sipline_trunk_ping_seconds{trunk="silent-udp"}') is None
    await monitor.ping_all()
    udp, tcp = monitor.health("silent-udp"), monitor.health("silent-tcp")
    assert (udp.state, udp.failures, udp.last_failure) == (TrunkState.DOWN, 2, PingFailure.TIMEOUT)
    assert (tcp.state, tcp.failures, tcp.last_failure) == (TrunkState.DOWN, 2, PingFailure.UNREACHABLE)
    assert udp.last_status is None and udp.rtt is None and udp.last_answered is None
    names = [status.name for status in monitor.statuses()]
    assert names == ["carrier", "sandbox", "silent-tcp", "silent-udp"]
    readiness = await running.readiness.check()
    assert "trunks" not in readiness  # informational: a trunk down never makes /readyz fail


async def test_the_stacks_own_503_is_not_an_answer(platform: Platform) -> None:
    """With SIP not listening the stack cannot send: it makes up a 503, which no trunk sent."""
    trunk = platform.settings.trunk_table()["silent-udp"]
    ping = await platform.trunk_health.ping(trunk)
    assert (ping.status, ping.failure) == (None, PingFailure.UNREACHABLE)


async def test_no_pings_at_an_interval_of_0(running: Platform) -> None:
    """`trunk_ping_interval = 0`: the monitor sends nothing and every trunk stays unknown."""
    monitor = running.trunk_health
    monitor.policy = replace(monitor.policy, interval=0)
    await asyncio.wait_for(monitor.run(), 1)  # returns at once instead of pinging forever
    assert {status.health.state for status in monitor.statuses()} == {TrunkState.UNKNOWN}
    assert running.sip.transport.counters.sent_counts == {}  # not one OPTIONS went out
