"""A virtual phone: registers an account with digest auth, keeps the registration fresh, auto-answers,
and dials (``dial``: an INVITE with its offer, the 407 answered with its credentials).

``sipline phone --account A --password P`` runs one; the demo and the tests use it in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from sipline.carrier.user_agent import UserAgent
from sipline.sip.auth_client import with_credentials
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.digest import DigestClient
from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse
from sipline.sip.sdp import SDP, audio_session
from sipline.sip.transaction import ServerTransaction, new_tag
from sipline.sip.transport import Flow
from sipline.sip.uac import OutgoingInvite, invite

log = logging.getLogger(__name__)


class RegistrationError(Exception):
    """The registrar refused the phone; the message has its status line."""


class VirtualPhone:
    def __init__(
        self,
        registrar: tuple[str, int],
        account: str,
        password: str,
        *,
        domain: str = "sipline.local",
        host: str = "127.0.0.1",
        port: int = 0,
        transport: str = "udp",
        expires: int = 300,
        answer_after: float = 0.5,
        talk_seconds: float | None = None,
    ) -> None:
        self.registrar = registrar
        self.account = account
        self.domain = domain
        self.transport = transport
        self.expires = expires
        self.answer_after = answer_after
        self.talk_seconds = talk_seconds  # None: stay in the call until the other side hangs up
        self.agent = UserAgent(host, port, domain=domain, user_agent="sipline virtual phone")
        self._credentials = DigestClient(account, password)
        self._call_id = secrets.token_hex(10)
        self._tag = new_tag()
        self._cseq = 0
        self._flow: Flow | None = None
        self._last_register: SipRequest | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls: list[Dialog] = []  # answered calls, newest last
        self.incoming: list[SipRequest] = []  # every INVITE received
        self.answered = asyncio.Event()

    async def start(self, *, register: bool = True) -> None:
        """Listen, register (RegistrationError if refused) and keep re-registering (unless not
        ``register``: a phone that only dials, from where its account is not registered)."""
        await self.agent.start()
        self.agent.sip.on_invite = self._on_invite
        self._flow = await self.agent.sip.transactions.transport.flow_to(self.transport, self.registrar)
        if register:
            await self.register()
            self._refresher = asyncio.create_task(self._refresh())

    async def stop(self, *, unregister: bool = True) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for dialog in list(self.calls):
            if dialog.state is not DialogState.TERMINATED:
                with contextlib.suppress(RuntimeError):
                    await dialog.bye()
        if unregister and self._flow is not None:
            with contextlib.suppress(RegistrationError):
                await self.register(expires=0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.agent.stop()

    async def register(self, expires: int | None = None) -> SipResponse:
        assert self._flow is not None, "start() first"
        response = await self._send(self._register_request(self.expires if expires is None else expires))
        if response.status in (401, 407):
            assert self._last_register is not None
            try:
                retry = with_credentials(self._last_register, response, self._credentials)
            except SipParseError as exc:
                raise RegistrationError(f"cannot answer the challenge: {exc}") from None
            response = await self._send(retry)
        if not 200 <= response.status < 300:
            raise RegistrationError(f"{response.status} {response.reason}")
        return response

    def _register_request(self, expires: int) -> SipRequest:
        assert self._flow is not None
        self._cseq += 1
        host, port = self.agent.sip.transactions.transport.advertised_addr(self._flow)
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        aor = f"sip:{self.account}@{self.domain}"
        fields = [
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={self._tag}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", f"<sip:{self.account}@{host}:{port}{suffix}>"),
            ("Expires", str(expires)),
            ("User-Agent", "sipline virtual phone"),
        ]
        return SipRequest("REGISTER", f"sip:{self.domain}", fields)

    async def _send(self, request: SipRequest) -> SipResponse:
        assert self._flow is not None
        self._last_register = request
        self._cseq = max(self._cseq, request.cseq.number)
        tx = self.agent.sip.transactions.send_request(request, self._flow)
        return await tx.final_response()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.expires * 0.8))
            try:
                await self.register()
            except RegistrationError as exc:
                log.warning("virtual phone %s: re-registration refused: %s", self.account, exc)

    # -- dialling ------------------------------------------------------------------------
    def dial(
        self,
        number: str,
        *,
        credentials: DigestClient | bool | None = True,
        caller: str | None = None,
        domain: str | None = None,
    ) -> OutgoingInvite:
        """INVITE ``number`` at the registrar's domain (or ``domain``) with an audio offer, From this
        phone's account (or ``caller``), answering a 401/407 with its own ``credentials`` (others
        given, or none with False). ``await`` it for the result; a 2xx is ACKed and gets media."""
        assert self._flow is not None, "start() first"
        sip = self.agent.sip
        host, port = sip.transactions.transport.advertised_addr(self._flow)
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        target = domain or self.domain
        fields = [
            ("Max-Forwards", "70"),
            ("From", f"<sip:{caller or self.account}@{self.domain}>;tag={new_tag()}"),
            ("To", f"<sip:{number}@{target}>"),
            ("Call-ID", secrets.token_hex(10)),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:{self.account}@{host}:{port}{suffix}>"),
            ("User-Agent", "sipline virtual phone"),
            ("Content-Type", SDP),
        ]
        offer = audio_session(self.agent.host, self.agent.media_port)
        request = SipRequest("INVITE", f"sip:{number}@{target}", fields, offer)
        answer_with = self._credentials if credentials is True else (credentials or None)
        call = invite(sip, request, self._flow, answer_with, dialogs=sip.dialogs)
        task = asyncio.create_task(self._dialled(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    async def _dialled(self, call: OutgoingInvite) -> None:
        result = await call
        if result.dialog is not None and not result.cancelled:
            self.calls.append(result.dialog)
            self.agent.send_media(result.dialog, result.response.body)

    # -- answering -----------------------------------------------------------------------
    def _on_invite(self, tx: ServerTransaction) -> None:
        self.incoming.append(tx.request)
        task = asyncio.create_task(self._answer(tx))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, tx: ServerTransaction) -> None:
        dialogs = self.agent.sip.dialogs
        dialogs.answer(tx, 180)
        await asyncio.sleep(self.answer_after)
        if tx.cancelled:
            return
        dialog = self.agent.answer(tx)
        if dialog is None:
            return
        self.calls.append(dialog)
        self.answered.set()
        if self.talk_seconds is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dialog.terminated.wait(), self.talk_seconds)
            if dialog.state is not DialogState.TERMINATED:
                await dialog.bye()
