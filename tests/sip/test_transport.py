"""Transport behaviour seen on the wire: TCP framing, keep-alives, rport/received, TLS."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.connection_limits import ConnectionLimits
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipResponse, parse_message
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.transport import Flow, SipTransportLayer


def options(call_id: str, port: int, transport: str = "TCP", rport: bool = True) -> bytes:
    via_params = ";rport" if rport else ""
    return (
        f"OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 192.0.2.55:{port};branch=z9hG4bK{call_id}{via_params}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:t@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def read_responses(reader: asyncio.StreamReader, count: int) -> list[SipResponse]:
    out: list[SipResponse] = []
    buffer = b""
    while len(out) < count:
        chunk = await asyncio.wait_for(reader.read(65536), 2)
        if not chunk:
            break
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            message = parse_message(head + b"\r\n\r\n", stream=False)
            assert isinstance(message, SipResponse)
            out.append(message)
    return out


async def register_alice(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str, extra_headers: str = ""
) -> SipResponse:
    """REGISTER alice (password secret1) on this connection, answering the digest challenge."""
    local_port = writer.get_extra_info("sockname")[1]

    def register(cseq: int, extra: str = "") -> bytes:
        return (
            f"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:{local_port};branch=z9hG4bKreg{cseq}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t\r\nTo: <sip:alice@127.0.0.1>\r\n"
            f"Call-ID: reg-{transport}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:alice@127.0.0.1:{local_port};transport={transport.lower()}>\r\n"
            f"{extra_headers}{extra}Content-Length: 0\r\n\r\n"
        ).encode()

    writer.write(register(1))
    (challenge,) = await read_responses(reader, 1)
    assert challenge.status == 401
    auth = DigestClient("alice", "secret1").authorization(
        challenge.headers("WWW-Authenticate"), "REGISTER", "sip:127.0.0.1"
    )
    writer.write(register(2, f"Authorization: {auth}\r\n"))
    (response,) = await read_responses(reader, 1)
    return response


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made once per module: RSA keygen is slow)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def server(certificate: tuple[Path, Path]) -> AsyncIterator[SipServer]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    config = SipServerConfig(
        host="127.0.0.1", port=0, domain="sipline.test", tls_context=context, tls_port=0,
        connections=ConnectionLimits(partial_message_timeout=0.3),
    )  # fmt: skip
    srv = SipServer(config, StaticCredentialSource({"alice": "secret1"}), MemoryBindingStore())
    await srv.start()
    yield srv
    await srv.stop()


async def test_tcp_framing_partial_reads_pipelining_and_keepalive(server: SipServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        first = options("a1", 5099)
        writer.write(b"\r\n\r\n")  # RFC 5626 ping: answered with a CRLF pong
        for i in range(0, len(first), 7):  # dribble one message in tiny pieces
            writer.write(first[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(options("a2", 5099) + b"\r\n" + options("a3", 5099))  # two messages in one write
        await writer.drain()
        pong = await asyncio.wait_for(reader.readexactly(2), 2)
        assert pong == b"\r\n"
        responses = await read_responses(reader, 3)
        assert [r.call_id for r in responses] == ["a1", "a2", "a3"]
        assert all(r.status == 200 for r in responses)
        via = responses[0].top_via
        local_port = writer.get_extra_info("sockname")[1]
        assert via.params["received"] == "127.0.0.1" and via.params["rport"] == str(local_port)
    finally:
        writer.close()


async def test_tcp_without_content_length_gets_400_and_close(server: SipServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(options("b1", 5099).replace(b"Content-Length: 0\r\n", b""))
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 2)  # read to EOF: the server closed
    assert data.startswith(b"SIP/2.0 400 ")
    writer.close()


async def test_udp_response_goes_to_source_with_received(server: SipServer) -> None:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
            if not got.done():
                got.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", server.port))
    try:
        # the Via claims 192.0.2.55:5099 without rport: the answer still reaches our real source
        transport.sendto(options("c1", 5099, "UDP", rport=False))
        response = parse_message(await asyncio.wait_for(got, 2))
        assert isinstance(response, SipResponse) and response.status == 200
        assert response.top_via.params == {"branch": "z9hG4bKc1", "received": "127.0.0.1"}
    finally:
        transport.close()


async def test_tls_listener_answers(server: SipServer) -> None:
    assert server.transport.tls_addr is not None
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(*server.transport.tls_addr, ssl=client)
    try:
        writer.write(options("d1", 5061, "TLS"))
        await writer.drain()
        (response,) = await read_responses(reader, 1)
        assert response.status == 200 and response.call_id == "d1"
    finally:
        writer.close()


async def test_tcp_oversize_message_gets_400_and_close(server: SipServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    padding = b"X-Pad: " + b"a" * 70_000 + b"\r\nContent-Length: 0"
    huge = options("e1", 5099).replace(b"Content-Length: 0", padding)
    writer.write(huge)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 2)
    assert data.startswith(b"SIP/2.0 400 ")
    writer.close()


async def test_tcp_peer_that_never_finishes_a_message_is_closed(server: SipServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(options("f1", 5099)[:60])  # slowloris: half a request, then silence
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
    writer.close()
    # a peer that finishes its message in time is served normally
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(options("f2", 5099)[:60])
    await asyncio.sleep(0.1)
    writer.write(options("f2", 5099)[60:])
    (response,) = await read_responses(reader, 1)
    assert response.status == 200
    writer.close()


async def test_register_over_tls_records_a_tls_flow(server: SipServer) -> None:
    assert server.transport.tls_addr is not None
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(*server.transport.tls_addr, ssl=client)
    try:
        assert (await register_alice(reader, writer, "TLS")).status == 200
        (binding,) = await server.bindings_for("alice")
        assert binding.transport == "tls" and binding.connection_id is not None
        assert server.transport.is_connected(binding.flow())
    finally:
        writer.close()


def test_advertised_address_never_uses_a_wildcard() -> None:
    transport = SipTransportLayer("127.0.0.1", 0, lambda m, f: None)
    # the flow of a wildcard listener (nothing is bound to 0.0.0.0 here)
    wildcard = Flow("udp", ("0.0.0.0", 5060), ("127.0.0.1", 40000))
    assert transport.advertised_addr(wildcard) == ("127.0.0.1", 5060)
    assert transport.advertised_addr(Flow("tcp", ("127.0.0.1", 5060), ("127.0.0.1", 1), 3)) == (
        "127.0.0.1",
        5060,
    )
    transport.advertised_host = "sip.example.com"
    assert transport.advertised_addr(wildcard) == ("sip.example.com", 5060)
