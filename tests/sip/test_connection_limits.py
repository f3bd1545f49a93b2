"""TCP connection limits seen from the peer: caps in total and per address, silent and idle
connections closed, CRLF keep-alives and registrations keeping a connection open."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.connection_limits import ConnectionLimits
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.server import SipServer, SipServerConfig
from tests.sip.test_transport import options, read_responses, register_alice

IDLE = 1.0  # seconds; keep-alives below are sent ten times as often
LIMITS = ConnectionLimits(max_connections=6, max_per_address=3, idle_timeout=IDLE, handshake_timeout=IDLE)

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    config = SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test", connections=LIMITS)
    srv = SipServer(config, StaticCredentialSource({"alice": "secret1"}), MemoryBindingStore())
    await srv.start()
    yield srv
    await srv.stop()


async def connect(server: SipServer, source: str = "127.0.0.1") -> Connection:
    return await asyncio.open_connection("127.0.0.1", server.port, local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader, within: float = 10.0) -> bool:
    """True when the server closes the connection (EOF or reset) before ``within`` seconds."""
    try:
        return await asyncio.wait_for(reader.read(), within) == b""
    except ConnectionResetError:
        return True


async def answers_options(connection: Connection, call_id: str) -> bool:
    reader, writer = connection
    writer.write(options(call_id, 5099))
    responses = await read_responses(reader, 1)
    return [r.status for r in responses] == [200]


async def test_a_connection_that_never_sends_a_byte_is_closed(server: SipServer) -> None:
    reader, writer = await connect(server)
    try:
        assert await closed_by_server(reader)
        assert server.transport.connection_count == 0
    finally:
        writer.close()


async def test_an_idle_connection_is_closed_after_its_last_message(server: SipServer) -> None:
    connection = await connect(server)
    try:
        assert await answers_options(connection, "idle-1")
        assert await closed_by_server(connection[0])
    finally:
        connection[1].close()


async def test_crlf_keep_alives_keep_a_connection_open(server: SipServer) -> None:
    reader, writer = connection = await connect(server)
    try:
        for _ in range(30):  # three idle timeouts of RFC 5626 pings, each answered with a pong
            writer.write(b"\r\n\r\n")
            assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
            await asyncio.sleep(IDLE / 10)
        assert await answers_options(connection, "kept-1")
        assert await closed_by_server(reader)  # once the pings stop, it is idle
    finally:
        writer.close()


async def test_a_connection_carrying_a_registration_is_kept_without_keep_alives(server: SipServer) -> None:
    reader, writer = connection = await connect(server)
    try:
        assert (await register_alice(reader, writer, "TCP", "Expires: 60\r\n")).status == 200
        await asyncio.sleep(3 * IDLE)  # silent, but the registration lasts 60 s
        assert await answers_options(connection, "held-1")
        (binding,) = await server.bindings_for("alice")
        assert server.transport.is_connected(binding.flow())
    finally:
        writer.close()


async def test_the_per_address_cap_refuses_only_that_address(server: SipServer) -> None:
    admitted = [await connect(server, "127.0.0.2") for _ in range(LIMITS.max_per_address)]
    over = await connect(server, "127.0.0.2")
    other = await connect(server, "127.0.0.3")
    try:
        assert await closed_by_server(over[0], within=2)
        assert await answers_options(other, "other-1")
        for number, connection in enumerate(admitted):  # the existing flows are untouched
            assert await answers_options(connection, f"admitted-{number}")
    finally:
        for _, writer in [*admitted, over, other]:
            writer.close()


async def test_the_total_cap_refuses_new_connections_until_one_closes(server: SipServer) -> None:
    sources = [f"127.0.0.{4 + n % 3}" for n in range(LIMITS.max_connections)]  # within the per-address cap
    admitted = [await connect(server, source) for source in sources]
    over = await connect(server, "127.0.0.9")
    try:
        assert await closed_by_server(over[0], within=2)
        for number, connection in enumerate(admitted):
            assert await answers_options(connection, f"full-{number}")
        admitted.pop()[1].close()
        await asyncio.sleep(0.1)  # the server sees the close
        retry = await connect(server, "127.0.0.9")
        admitted.append(retry)
        assert await answers_options(retry, "retry-1")
    finally:
        for _, writer in [*admitted, over]:
            writer.close()


def test_the_sweep_runs_often_enough_for_the_shortest_timeout() -> None:
    assert ConnectionLimits(idle_timeout=120, handshake_timeout=20).sweep_interval == 5.0
    assert ConnectionLimits(idle_timeout=1, handshake_timeout=0.4).sweep_interval == pytest.approx(0.1)
    assert ConnectionLimits(idle_timeout=0.1, handshake_timeout=0.1).sweep_interval == 0.05


def listen_backlog(sock: socket.socket) -> int:
    """A listening socket's backlog as the kernel keeps it (Linux TCP_INFO: tcpi_sacked)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(struct.unpack_from("I", info, 28)[0])


async def test_the_listen_backlog_is_the_configured_one() -> None:
    config = SipServerConfig(host="127.0.0.1", port=0, listen_backlog=777)
    srv = SipServer(config, StaticCredentialSource({}), MemoryBindingStore())
    await srv.start()
    try:
        (listener,) = srv.transport.listeners
        assert [listen_backlog(sock) for sock in listener] == [777]  # not asyncio's default of 100
    finally:
        await srv.stop()
