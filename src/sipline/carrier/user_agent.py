"""A SIP user agent for the built-in peers: our SipServer with no phones of its own, plus a socket
that takes (and drops) the RTP its session descriptions announce, and sends a little (silence)."""

from __future__ import annotations

import asyncio
import socket
from collections import deque

from sipline.carrier.media_keepalive import send_silence
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.dialog import Dialog
from sipline.sip.message import SipRequest
from sipline.sip.sdp import SDP, SdpError, audio_address, audio_session
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
        self._senders: set[asyncio.Task[None]] = set()
        self.sends_media = True  # False: silent, as a peer whose RTP never arrives
        # the session descriptions the other side gave (its offer, or the answer in an ACK), lately
        self.remote_descriptions: deque[bytes] = deque(maxlen=100)

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
        dialog = self.sip.dialogs.answer(tx, 200, body=body, content_type=SDP)
        if dialog is not None:
            if tx.request.body:
                self.send_media(dialog, tx.request.body)
            else:  # our 2xx offered: the answer, and where to send, comes in the ACK
                dialog.on_ack = self._answered
        return dialog

    def _answered(self, dialog: Dialog, ack: SipRequest) -> None:
        dialog.on_ack = None
        self.send_media(dialog, ack.body)

    def send_media(self, dialog: Dialog, description: bytes) -> None:
        """Send a little silence to the audio address of ``description`` (the other side's)."""
        self.remote_descriptions.append(description)
        address = audio_address(description)
        if not self.sends_media or self._media is None or address is None or address[1] == 0:
            return
        task = asyncio.create_task(send_silence(self._media, dialog, address))
        self._senders.add(task)
        task.add_done_callback(self._senders.discard)

    async def stop(self) -> None:
        for task in list(self._senders):
            task.cancel()
        if self._media is not None:
            self._media.close()
        await self.sip.stop()
