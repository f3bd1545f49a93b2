"""A SIP user agent for the built-in peers: our SipServer with no phones of its own, plus a socket
that takes (and drops) the RTP its session descriptions announce."""

from __future__ import annotations

import asyncio
import socket

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.dialog import Dialog
from sipline.sip.sdp import SDP, SdpError, audio_session
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.transaction import ServerTransaction


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

    def answer(self, tx: ServerTransaction) -> Dialog | None:
        """Answer an INVITE with 200 and our audio: the answer to its offer, or (no offer, as the
        B2BUA sends to phones) an offer of ours. 488 for an offer we cannot read."""
        try:
            body = audio_session(self.host, self.media_port, answer_to=tx.request.body or None)
        except SdpError:
            self.sip.dialogs.answer(tx, 488)
            return None
        return self.sip.dialogs.answer(tx, 200, body=body, content_type=SDP)

    async def stop(self) -> None:
        if self._media is not None:
            self._media.close()
        await self.sip.stop()
