"""The SIP server on uvloop: UDP and TCP registration, TCP framing, OPTIONS."""

from __future__ import annotations

import asyncio

import uvloop

from sipline.sip import MemoryBindingStore, SipServer, SipServerConfig, StaticCredentialSource
from tests.sip.peer import RawPeer


async def test_register_over_udp_and_tcp_on_uvloop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    config = SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test")
    server = SipServer(config, StaticCredentialSource({"alice": "secret1"}), MemoryBindingStore())
    await server.start()
    try:
        for transport in ("udp", "tcp"):
            peer = await RawPeer(server.port, transport).open()
            try:
                response, _ = await peer.register("alice", "secret1")
                assert response is not None and response.status == 200
                peer.send_raw(peer.build("OPTIONS", "ping", call_id=f"o-{transport}", cseq=1))
                ping = await peer.receive()
                assert ping is not None and ping.status == 200
            finally:
                await peer.close()
        bindings = await server.bindings_for("alice")
        assert sorted(b.transport for b in bindings) == ["tcp", "udp"]
    finally:
        await server.stop()
