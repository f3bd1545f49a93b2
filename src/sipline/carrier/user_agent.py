"""A SIP user agent for the built-in peers: our SipServer with no phones of its own, plus a socket
that takes (and drops) the RTP its session descriptions announce."""

from __future__ import annotations

import asyncio
import socket

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.server import SipServer, SipServerConfig


class _Discard(asyncio.DatagramProtocol):
    pass


class UserAgent:
    def __init__(self, host: str, port: int, *, domain: str, user_agent: str) -> None:
        self.host = host
        self.sip = SipServer(
            SipServerConfig(host=host, port=port, domain=domain, user_agent=user_agent),
            StaticCredentialSource(),
            MemoryBindingStore(),
        )
        self.media_port = 0
        self._media: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        return self.sip.port

    async def start(self) -> None:
        await self.sip.start()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            _Discard, local_addr=(self.host, 0), family=family
        )
        self._media = transport
        self.media_port = int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        if self._media is not None:
            self._media.close()
        await self.sip.stop()
