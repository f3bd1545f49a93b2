"""A STUN server that plays a NAT: it tells each client a mapped address on another loopback address, where
nothing listens, so a phone using it (baresip's ``medianat=stun``) names that address in its SDP while it
really sends from 127.0.0.1. Only the platform's latching (symmetric RTP) then gets audio back to it."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from tests.conftest import free_port

NAT_ADDRESS = "127.0.0.9"  # the phone's "public" address: loopback, and nothing listens on it
_MAGIC = 0x2112A442  # RFC 5389 magic cookie
_BINDING_REQUEST, _BINDING_SUCCESS = 0x0001, 0x0101
_XOR_MAPPED_ADDRESS = 0x0020
_HEADER = struct.Struct(">HHI12s")


class FakeNat(asyncio.DatagramProtocol):
    """Answers Binding requests with ``NAT_ADDRESS`` and, per source port, a port free on loopback."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.mapped: dict[int, int] = {}  # the client's real source port -> the port it is told

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < _HEADER.size or self.transport is None:
            return
        kind, _length, magic, transaction = _HEADER.unpack_from(data)
        if kind != _BINDING_REQUEST or magic != _MAGIC:
            return
        port = self.mapped.setdefault(addr[1], free_port())
        host = struct.unpack(">I", socket.inet_aton(NAT_ADDRESS))[0]
        value = struct.pack(">BBHI", 0, 1, port ^ (_MAGIC >> 16), host ^ _MAGIC)  # family 1: IPv4
        attribute = struct.pack(">HH", _XOR_MAPPED_ADDRESS, len(value)) + value
        self.transport.sendto(
            _HEADER.pack(_BINDING_SUCCESS, len(attribute), _MAGIC, transaction) + attribute, addr
        )


@asynccontextmanager
async def fake_nat() -> AsyncIterator[tuple[FakeNat, int]]:
    """The NAT's STUN server on a free loopback port: (the server, its port)."""
    loop = asyncio.get_running_loop()
    transport, nat = await loop.create_datagram_endpoint(FakeNat, local_addr=("127.0.0.1", 0))
    try:
        yield nat, int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()
