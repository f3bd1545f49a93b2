"""The SIP service of the platform: transport + transactions + registrar on one host:port.

server = SipServer(SipServerConfig(host="0.0.0.0", port=5060, domain="sip.example.com"),
                   credentials=my_credential_source, bindings=my_binding_store)
await server.start()
...
await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sipline.sip.ban import AuthFailureTracker, BanPolicy
from sipline.sip.bindings import Binding, BindingStore
from sipline.sip.connection_limits import ConnectionLimits
from sipline.sip.counters import KNOWN_METHODS
from sipline.sip.credentials import CredentialSource
from sipline.sip.dialog import DialogTable
from sipline.sip.digest import DEFAULT_CHALLENGE_ALGORITHMS
from sipline.sip.errors import SipParseError
from sipline.sip.invite_auth import InviteAuth
from sipline.sip.message import DEFAULT_MAX_MESSAGE_SIZE, SipRequest, SipResponse
from sipline.sip.registrar import Registrar, RegistrarConfig
from sipline.sip.transaction import ClientTransaction, ServerTransaction, TimerConfig, TransactionLayer
from sipline.sip.transport import Flow, SipTransportLayer

log = logging.getLogger(__name__)

ALLOWED_METHODS = "REGISTER, OPTIONS, ACK, CANCEL"


@dataclass(frozen=True)
class SipServerConfig:
    host: str = "127.0.0.1"
    port: int = 5060  # UDP and TCP; 0 lets the OS choose (see SipServer.port)
    domain: str = "sipline.local"  # also the digest realm
    advertised_host: str | None = None  # for our Via/Contact when host is 0.0.0.0 or behind NAT
    tls_context: ssl.SSLContext | None = None
    tls_port: int | None = None
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    nonce_lifetime: float = 300.0
    nonce_secret: bytes | None = None
    digest_algorithms: tuple[str, ...] = DEFAULT_CHALLENGE_ALGORITHMS  # offered in this order
    ban: BanPolicy = field(default_factory=BanPolicy)
    timers: TimerConfig = field(default_factory=TimerConfig)
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)  # TCP/TLS caps and timeouts
    listen_backlog: int = 1024
    purge_interval: float = 60.0  # how often expired bindings are deleted from the store
    user_agent: str = "sipline"


class SipServer:
    def __init__(
        self, config: SipServerConfig, credentials: CredentialSource, bindings: BindingStore
    ) -> None:
        self.config = config
        self.failures = AuthFailureTracker(config.ban)
        self.registrar = Registrar(
            RegistrarConfig(
                realm=config.domain,
                min_expires=config.min_expires,
                max_expires=config.max_expires,
                default_expires=config.default_expires,
                nonce_lifetime=config.nonce_lifetime,
                nonce_secret=config.nonce_secret,
                algorithms=config.digest_algorithms,
                ban=config.ban,
            ),
            credentials,
            bindings,
            failures=self.failures,
        )
        self.transport = SipTransportLayer(
            config.host,
            config.port,
            self._on_message,
            ssl_context=config.tls_context,
            tls_port=config.tls_port,
            max_message_size=config.max_message_size,
            is_blocked=self._drop_banned,
            connection_limits=config.connections,
            backlog=config.listen_backlog,
            advertised_host=config.advertised_host,
        )
        self.registrar.on_binding = self._hold_connection
        self.transactions = TransactionLayer(
            self.transport,
            self._on_request,
            on_ack=self._on_ack,
            timers=config.timers,
            stateless=self._answer_statelessly,
        )
        # In-dialog requests (BYE, re-INVITE, INFO, ACK for our 2xx) of the calls the platform is in.
        self.dialogs = DialogTable(self)
        # Set by the call layer to take new INVITEs; while unset they are refused with 405.
        self.on_invite: Callable[[ServerTransaction], None] | None = None
        # Phones' INVITEs (calls dialled on a handset) are authenticated like their REGISTERs: when
        # set, an INVITE to a domain of ours without a usable answer is challenged statelessly (407).
        self.invite_auth = InviteAuth(self.registrar)
        self.authenticate_invites = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._purger: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.transport.port

    def listening(self) -> dict[str, bool]:
        """Each transport (udp, tcp, tls when configured): is it listening?"""
        return self.transport.listening()

    async def start(self) -> None:
        await self.transport.start()
        self._purger = asyncio.create_task(self._purge_loop())
        log.info("SIP server listening on %s:%d (udp+tcp)", self.config.host, self.port)

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.transactions.close()
        await self.transport.stop()

    async def bindings_for(self, account: str) -> list[Binding]:
        """The account's current registrations (with the flow to reach each phone)."""
        return await self.registrar.bindings_for(account)

    def send_request(
        self,
        request: SipRequest,
        flow: Flow,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
    ) -> ClientTransaction:
        """Send a request in a new client transaction, e.g. to a phone via ``binding.flow()``.

        A top Via (fresh branch) is added; ``await tx.final_response()`` for the answer.
        """
        return self.transactions.send_request(request, flow, on_provisional=on_provisional)

    def contact_address(self, flow: Flow) -> tuple[str, int]:
        """The host:port our Contact names for messages sent on ``flow`` (see advertised_host)."""
        return self.transport.advertised_addr(flow)

    async def flow_to(self, transport: str, address: tuple[str, int]) -> Flow:
        """A flow for a new request to ``address``: UDP at once, TCP/TLS on a (new) connection."""
        return await self.transport.flow_to(transport, address)

    # -- dispatch ----------------------------------------------------------------------
    @property
    def allowed_methods(self) -> str:
        return ALLOWED_METHODS + (", INVITE, BYE, INFO" if self.on_invite is not None else "")

    def _on_ack(self, ack: SipRequest, flow: Flow) -> None:
        self.dialogs.handle_ack(ack, flow)

    def _drop_banned(self, source_ip: str) -> bool:
        return not self.config.ban.answer_banned and self.failures.is_banned(source_ip)

    def _hold_connection(self, binding: Binding) -> None:
        # A phone registered over TCP/TLS is reached through that connection: keep it while the
        # registration lasts, even when the phone sends no keep-alives (Kamailio's tcp_persistent_flag).
        if binding.connection_id is not None:
            self.transport.keep_open(binding.connection_id, binding.remaining_seconds(datetime.now(UTC)))

    def _on_message(self, message: SipRequest | SipResponse, flow: Flow) -> None:
        self.transactions.receive(message, flow)

    def serves(self, host: str, flow: Flow) -> bool:
        """Whether a Request-URI's host is ours: the SIP domain, or an address the platform has."""
        config = self.config
        host = host.lower()
        return host in (config.domain.lower(), config.host, config.advertised_host, flow.local_addr[0])

    def _answer_statelessly(self, request: SipRequest, flow: Flow) -> bool:
        """Challenge a REGISTER (or, with ``authenticate_invites``, a new INVITE for our domain)
        without credentials, keeping no state (RFC 3261 §8.2.7)."""
        method = request.method
        if method == "REGISTER":
            if self._refusal(request, flow) is not None:
                return False  # refusals are answered by the stateful path
            challenge = self.registrar.stateless_challenge(request)
        elif method == "INVITE" and self.authenticate_invites:
            if self._refusal(request, flow) is not None or not self._new_invite_for_us(request, flow):
                return False
            challenge = self.invite_auth.stateless_challenge(request)
        else:
            return False
        if challenge is None:
            return False
        self.transport.send(challenge, flow)
        return True

    def _new_invite_for_us(self, request: SipRequest, flow: Flow) -> bool:
        try:
            return request.to.tag is None and self.serves(request.request_uri.host, flow)
        except SipParseError:
            return False

    def _refusal(self, request: SipRequest, flow: Flow) -> tuple[int, list[tuple[str, str]]] | None:
        """The answer to a request refused whatever its method does (status, headers), or None."""
        if self.failures.is_banned(flow.remote_addr[0]):
            return 403, []  # only reached when the policy answers banned sources
        if not request.request_uri.is_sip:
            return 416, []
        require = [r for r in request.headers("Require") if r]
        if require and request.method not in ("ACK", "CANCEL"):
            return 420, [("Unsupported", ", ".join(require))]
        return None

    def _on_request(self, tx: ServerTransaction) -> None:
        request = tx.request
        refusal = self._refusal(request, tx.flow)
        if refusal is not None:
            tx.reply(refusal[0], headers=refusal[1])
            return
        if request.method != "REGISTER" and self.dialogs.handle_request(tx):
            return  # in-dialog (To tag): routed to its dialog, or 481 when there is none
        method = request.method
        if method == "INVITE" and self.on_invite is not None:
            self.on_invite(tx)
            return
        if method == "REGISTER":
            pending = self.registrar.register(tx)  # answered here unless a lookup must wait
            if pending is not None:
                self._spawn(pending)
        elif method == "OPTIONS":
            tx.reply(
                200,
                headers=[
                    ("Allow", self.allowed_methods),
                    ("Accept", "application/sdp"),
                    ("Server", self.config.user_agent),
                ],
            )
        elif method in KNOWN_METHODS:
            tx.reply(405, headers=[("Allow", self.allowed_methods)])
        else:
            tx.reply(501)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP request handler failed", exc_info=task.exception())

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.purge_interval)
            try:
                await self.registrar.purge_expired()
            except Exception:
                log.exception("purging expired bindings failed")
