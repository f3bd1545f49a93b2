"""The registrar against SIPp: digest REGISTER over UDP and TCP, rejection, refresh, expiry, loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.sip.ban import BanPolicy
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.server import SipServer, SipServerConfig
from tests.sip.conftest import SCENARIOS, SIPP, need, run_sipp

pytestmark = pytest.mark.interop

USERS = {f"user{i:03d}": f"pw-{i:03d}" for i in range(60)}


def users_csv(path: Path, users: dict[str, str]) -> Path:
    lines = ["SEQUENTIAL"]
    lines += [f"{u};{p};[authentication username={u} password={p}]" for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


async def start_server(**overrides: object) -> SipServer:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "domain": "sipline.test",
        "ban": BanPolicy(slow_delay=0.1),
    }
    settings.update(overrides)
    config = SipServerConfig(**settings)  # type: ignore[arg-type]
    server = SipServer(config, StaticCredentialSource(USERS), MemoryBindingStore())
    await server.start()
    return server


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    need(SIPP)
    srv = await start_server()
    yield srv
    await srv.stop()


def sipp_args(server: SipServer, scenario: str, csv: Path, calls: int, transport: str = "u1") -> list[str]:
    return [
        f"127.0.0.1:{server.port}", "-sf", str(SCENARIOS / scenario), "-inf", str(csv),
        "-i", "127.0.0.1", "-m", str(calls), "-r", "200", "-t", transport,
    ]  # fmt: skip


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_registers_with_digest(server: SipServer, tmp_path: Path, transport: str) -> None:
    csv = users_csv(tmp_path / "users.csv", dict(list(USERS.items())[:20]))
    result = await run_sipp(sipp_args(server, "reg_client_auth.xml", csv, 20, transport), tmp_path, 20)
    assert result.returncode == 0, result.stdout[-1500:]
    for user in list(USERS)[:20]:
        bindings = await server.bindings_for(user)
        assert len(bindings) == 1 and bindings[0].transport == ("udp" if transport == "u1" else "tcp")


DESK_PHONES = ["Yealink SIP-T46S 66.86.0.15", "PolycomVVX-VVX_411-UA/6.3.1.9011"]


def scenario_with_user_agent(tmp_path: Path, user_agent: str | None) -> Path:
    """reg_client_auth.xml sending ``user_agent`` (None: no User-Agent header at all)."""
    text = (SCENARIOS / "reg_client_auth.xml").read_text()
    assert text.count("      User-Agent: SIPp\n") == 2
    replacement = "" if user_agent is None else f"      User-Agent: {user_agent}\n"
    path = tmp_path / "reg_user_agent.xml"
    path.write_text(text.replace("      User-Agent: SIPp\n", replacement))
    return path


@pytest.mark.parametrize("transport", ["u1", "t1"])
@pytest.mark.parametrize("user_agent", [None, *DESK_PHONES])
@pytest.mark.parametrize("algorithms", [None, ("MD5", "SHA-256")], ids=["default", "md5-first"])
async def test_md5_only_client_registers_whatever_it_calls_itself(
    tmp_path: Path, transport: str, user_agent: str | None, algorithms: tuple[str, ...] | None
) -> None:
    """SIPp answers MD5 only and takes the first challenge: it registers by default, and when
    SHA-256 is offered after MD5, whatever its User-Agent, or none."""
    need(SIPP)
    server = await start_server(**({"digest_algorithms": algorithms} if algorithms else {}))
    try:
        users = dict(list(USERS.items())[:5])
        args = sipp_args(
            server, "reg_client_auth.xml", users_csv(tmp_path / "users.csv", users), 5, transport
        )
        args[2] = str(scenario_with_user_agent(tmp_path, user_agent))
        result = await run_sipp(args, tmp_path, 20)
        assert result.returncode == 0, result.stdout[-1500:]
        for user in users:
            bindings = await server.bindings_for(user)
            assert len(bindings) == 1 and bindings[0].user_agent == user_agent
            assert bindings[0].transport == ("udp" if transport == "u1" else "tcp")
    finally:
        await server.stop()


async def test_wrong_password_and_unknown_user_get_the_same_403(server: SipServer, tmp_path: Path) -> None:
    bad = {"user001": "wrong", "nobody": "whatever", "user002": "pw-001", "ghost": "pw-002"}
    csv = users_csv(tmp_path / "bad.csv", bad)
    result = await run_sipp(sipp_args(server, "reg_client_rejected.xml", csv, 4), tmp_path, 20)
    assert result.returncode == 0, result.stdout[-1500:]  # every call saw 401 then 403
    assert all([await server.bindings_for(u) == [] for u in bad])


async def test_refresh_and_unregister(server: SipServer, tmp_path: Path) -> None:
    csv = users_csv(tmp_path / "users.csv", {"user007": "pw-007"})
    task = asyncio.create_task(run_sipp(sipp_args(server, "reg_refresh_unreg.xml", csv, 1), tmp_path, 20))
    result = await task
    assert result.returncode == 0, result.stdout[-1500:]  # the 200s carried expires=3600 then 120
    assert await server.bindings_for("user007") == []  # Expires: 0 removed it


async def test_binding_expires(tmp_path: Path) -> None:
    need(SIPP)
    server = await start_server(min_expires=1)
    try:
        scenario = (SCENARIOS / "reg_client_auth.xml").read_text().replace("Expires: 3600", "Expires: 1")
        (tmp_path / "short.xml").write_text(scenario)
        csv = users_csv(tmp_path / "users.csv", {"user010": "pw-010"})
        args = sipp_args(server, "reg_client_auth.xml", csv, 1)
        args[2] = str(tmp_path / "short.xml")
        result = await run_sipp(args, tmp_path, 20)
        assert result.returncode == 0, result.stdout[-1500:]
        assert len(await server.bindings_for("user010")) == 1
        await asyncio.sleep(1.6)
        assert await server.bindings_for("user010") == []
        assert await server.registrar.purge_expired() == 1
    finally:
        await server.stop()


@pytest.mark.slow
async def test_registrations_survive_packet_loss(tmp_path: Path) -> None:
    need(SIPP)
    server = await start_server(ban=BanPolicy(max_failures=1000))
    try:
        csv = users_csv(tmp_path / "users.csv", USERS)
        args = [*sipp_args(server, "reg_client_auth.xml", csv, 60), "-lost", "10", "-l", "60"]
        result = await run_sipp(args, tmp_path, 40)
        assert result.returncode == 0, result.stdout[-2500:]
        registered = [u for u in USERS if await server.bindings_for(u)]
        assert len(registered) == 60
    finally:
        await server.stop()


async def test_sweep_of_wrong_passwords_gets_banned(tmp_path: Path) -> None:
    need(SIPP)
    server = await start_server(ban=BanPolicy(max_failures=5, window=60, ban_seconds=60, slow_delay=0.1))
    try:
        sweep = {f"user{i:03d}": "123456" for i in range(30)}  # one common password tried on everyone
        csv = users_csv(tmp_path / "sweep.csv", sweep)
        args = [*sipp_args(server, "reg_client_rejected.xml", csv, len(sweep)), "-recv_timeout", "1000"]
        result = await run_sipp(args, tmp_path, 20)
        assert result.returncode != 0  # most of the sweep got no answer at all
        assert "127.0.0.1" in server.failures.banned_sources()
        assert all([await server.bindings_for(u) == [] for u in sweep])
    finally:
        await server.stop()
