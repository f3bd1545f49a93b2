"""RFC 3261 §17 client and server transactions (INVITE and non-INVITE), with RFC 6026 fixes.

Retransmissions run only on UDP. Server transactions are matched by the top Via branch
(RFC 3261 magic cookie) or, for RFC 2543 peers, by the §17.2.3 fallback key. The layer also
does the UAS-core duty of retransmitting a 2xx to INVITE until its ACK arrives (§13.3.1.4).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sipline.sip.headers import MAGIC_COOKIE, Via
from sipline.sip.message import SipRequest, SipResponse, make_response
from sipline.sip.random_ids import random_hex
from sipline.sip.transport import Flow, SipTransportLayer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimerConfig:
    t1: float = 0.5  # RTT estimate
    t2: float = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
    t4: float = 5.0  # maximum duration a message remains in the network
    timer_d: float = 32.0  # wait for response retransmissions after a non-2xx to INVITE (UDP)
    trying_delay: float = 0.2  # send 100 Trying if the TU has not answered an INVITE by then
    timer_c: float | None = None  # optional: give up (408) on an INVITE ringing this long (§16.6)

    @property
    def timeout(self) -> float:  # timers B, F, H, J, L, M
        return 64 * self.t1


class State(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def new_branch() -> str:
    return MAGIC_COOKIE + random_hex(8)


def new_tag() -> str:
    return random_hex(6)


def _server_key(request: SipRequest, method: str | None = None) -> Hashable:
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    branch = via.branch
    if branch and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        return (branch, via.sent_by.lower(), method)
    # RFC 2543 peer (or a bare magic cookie, RFC 4475 badbranch): §17.2.3 fallback
    return (request.uri, request.from_.tag, request.call_id, request.cseq.number, via.sent_by, branch, method)


class _Timers:
    """Named loop.call_later handles, cancelled together when a transaction ends."""

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def start(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self.cancel(name)
        self._handles[name] = asyncio.get_running_loop().call_later(delay, callback)

    def cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class ServerTransaction:
    """A request received; the TU answers with ``respond()`` or ``reply()``."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, flow: Flow, key: Hashable) -> None:
        self.layer = layer
        self.request = request
        self.flow = flow
        self.key = key
        self.is_invite = request.method == "INVITE"
        self.state = State.PROCEEDING if self.is_invite else State.TRYING
        self.to_tag = request.to.tag or new_tag()
        self.last_response: SipResponse | None = None
        self._last_bytes: bytes | None = None
        self._timers = _Timers()
        self._cancel_callbacks: list[Callable[[], None]] = []
        self.cancelled = False
        if self.is_invite:
            self._timers.start("trying", layer.timers.trying_delay, self._auto_trying)

    @property
    def method(self) -> str:
        return self.request.method

    def reply(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> SipResponse:
        """Build a response to the request (with this transaction's To tag) and send it."""
        response = make_response(
            self.request, status, reason, to_tag=self.to_tag, headers=headers or (), body=body
        )
        self.respond(response)
        return response

    def respond(self, response: SipResponse) -> None:
        if self.state in (State.COMPLETED, State.CONFIRMED, State.TERMINATED, State.ACCEPTED):
            return  # the final response has been sent already
        self._timers.cancel("trying")
        data = response.to_bytes()
        self.last_response = response
        self._last_bytes = data
        self.layer.transport.send(data, self.flow)
        status = response.status
        timers = self.layer.timers
        if status < 200:
            self.state = State.PROCEEDING
            return
        # A CANCEL only matters while PROCEEDING; the callbacks (closures over this transaction and
        # the TU's dialog) would otherwise keep a reference cycle alive until a full collection.
        self._cancel_callbacks.clear()
        if self.is_invite and status < 300:
            # RFC 6026 Accepted: absorb INVITE retransmissions (timer L, by what lingers of this
            # transaction); the layer retransmits the 2xx until the ACK
            self.state = State.ACCEPTED
            self._timers.cancel_all()
            self.layer.start_2xx_retransmission(self, data)
            self.layer.linger(self.layer.server, self, data, State.ACCEPTED)
        elif self.is_invite:
            self.state = State.COMPLETED
            if not self.flow.reliable:
                self._schedule_g(timers.t1)
            self._timers.start("H", timers.timeout, self.terminate)
        else:
            self.state = State.COMPLETED
            self._timers.cancel_all()
            if self.flow.reliable:  # timer J is 0 on reliable transports
                self.layer.server_terminated(self)
            else:
                self.layer.linger(self.layer.server, self, data, State.COMPLETED)

    def _auto_trying(self) -> None:
        if self.state is State.PROCEEDING and self.last_response is None:
            self.reply(100)

    def _schedule_g(self, interval: float) -> None:
        def fire() -> None:
            if self.state is State.COMPLETED and self._last_bytes is not None:
                self.layer.counters.retransmissions_out += 1
                self.layer.transport.send(self._last_bytes, self.flow)
                self._schedule_g(min(2 * interval, self.layer.timers.t2))

        self._timers.start("G", interval, fire)

    def on_retransmission(self, request: SipRequest) -> None:
        if request.method == "ACK":
            if self.state is State.COMPLETED:
                self.state = State.CONFIRMED
                self._timers.cancel("G")
                self._timers.cancel("H")
                self._timers.start("I", 0 if self.flow.reliable else self.layer.timers.t4, self.terminate)
            return
        if self._last_bytes is not None and self.state is not State.CONFIRMED:
            self.layer.transport.send(self._last_bytes, self.flow)

    def add_cancel_callback(self, callback: Callable[[], None]) -> None:
        """Called when a matching CANCEL arrives; without callbacks the layer answers 487."""
        self._cancel_callbacks.append(callback)

    def on_cancel(self) -> None:
        self.cancelled = True
        # Taken, not iterated in place: a callback that answers 487 clears the list (respond()), and
        # the ones after it (a TU's, after the dialog layer's) must still learn of the CANCEL.
        callbacks, self._cancel_callbacks = self._cancel_callbacks, []
        if not callbacks:
            self.reply(487)
        for callback in callbacks:
            callback()

    def terminate(self) -> None:
        if self.state is not State.TERMINATED:
            self.state = State.TERMINATED
            self._timers.cancel_all()
            self._cancel_callbacks.clear()  # see respond()
            self.layer.server_terminated(self)


class _Lingering:
    """What remains of a transaction for its last 64*T1 once its outcome is settled: timer J of a
    non-INVITE server transaction (Completed), L of an INVITE server transaction and M of an INVITE
    client transaction (RFC 6026 Accepted). It answers retransmissions with ``data`` (the final
    response; the ACK of a 2xx) and holds no parsed message: at hundreds of calls a second, those
    lingering 32 s were most of the heap, and most of the garbage collector's work."""

    __slots__ = ("data", "expires", "flow", "key", "layer", "state", "table")

    def __init__(
        self,
        layer: TransactionLayer,
        table: dict[Hashable, Any],
        key: Hashable,
        data: bytes,
        flow: Flow,
        state: State,
        expires: float,
    ) -> None:
        self.layer = layer
        self.table = table  # the layer's server or client transactions
        self.key = key
        self.data = data
        self.flow = flow
        self.state = state
        self.expires = expires  # loop time at which the timer fires

    def on_retransmission(self, request: SipRequest) -> None:
        """A server transaction's request again: its final response again."""
        self.layer.transport.send(self.data, self.flow)

    def on_response(self, response: SipResponse) -> None:
        """A client transaction's 2xx again (its ACK was lost): the ACK again."""
        if response.status >= 200:
            self.layer.transport.send(self.data, self.flow)

    def terminate(self) -> None:
        if self.table.get(self.key) is self:
            del self.table[self.key]


class ClientTransaction:
    """A request sent; ``await final_response()`` gives the final answer (408/503 synthesized)."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        flow: Flow,
        on_provisional: Callable[[SipResponse], None] | None = None,
    ) -> None:
        self.layer = layer
        self.request = request
        self.flow = flow
        self.is_invite = request.method == "INVITE"
        self.branch = request.top_via.branch or ""
        self.key: Hashable = (self.branch, request.cseq.method)
        self.state = State.CALLING if self.is_invite else State.TRYING
        self.on_provisional = on_provisional
        self.provisional: list[SipResponse] = []
        self._final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._timers = _Timers()
        self._data = request.to_bytes()
        self._ack_bytes: bytes | None = None
        self.retransmissions = 0
        self.answered = False  # a final response came from the peer (not the 408/503 made up here)

    async def final_response(self) -> SipResponse:
        return await asyncio.shield(self._final)

    def start(self) -> None:
        if not self.layer.transport.send(self._data, self.flow):
            self._finish_with(503, "Service Unavailable")
            return
        timers = self.layer.timers
        if not self.flow.reliable:
            self._schedule_retransmit(timers.t1)
        self._timers.start("B/F", timers.timeout, lambda: self._finish_with(408, "Request Timeout"))

    def _schedule_retransmit(self, interval: float) -> None:
        def fire() -> None:
            if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
                self.retransmissions += 1
                self.layer.counters.retransmissions_out += 1
                self.layer.transport.send(self._data, self.flow)
                next_interval = 2 * interval if self.is_invite else min(2 * interval, self.layer.timers.t2)
                self._schedule_retransmit(next_interval)

        self._timers.start("A/E", interval, fire)

    def _finish_with(self, status: int, reason: str) -> None:
        if not self._final.done():
            self._final.set_result(make_response(self.request, status, reason))
        self.terminate()

    def on_response(self, response: SipResponse) -> None:
        status = response.status
        if status < 200:
            if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
                if self.is_invite:
                    self._timers.cancel("A/E")  # Proceeding: no more INVITE retransmissions
                    self._timers.cancel("B/F")
                    timer_c = self.layer.timers.timer_c
                    if timer_c is not None:  # restarted by every provisional response
                        self._timers.start("C", timer_c, lambda: self._finish_with(408, "Request Timeout"))
                elif self.state is State.TRYING:
                    self._schedule_retransmit(self.layer.timers.t2)
                self.state = State.PROCEEDING
                self.provisional.append(response)
                if self.on_provisional is not None:
                    self.on_provisional(response)
            return
        if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            self._timers.cancel_all()
            # No provisional follows a final: drop the TU's callback, which refers back to whatever
            # holds this transaction (a reference cycle living until a full collection otherwise).
            self.on_provisional = None
            if not self._final.done():
                self.answered = True
                self._final.set_result(response)
            timers = self.layer.timers
            if self.is_invite and status < 300:
                self.state = State.ACCEPTED  # RFC 6026: let 2xx retransmissions reach the ACK
                self._timers.start("M", timers.timeout, self.terminate)
            elif self.is_invite:
                self.state = State.COMPLETED
                self._ack_bytes = self._ack_for_failure(response).to_bytes()
                self.layer.transport.send(self._ack_bytes, self.flow)
                self._timers.start("D", 0 if self.flow.reliable else timers.timer_d, self.terminate)
            else:
                self.state = State.COMPLETED
                self._timers.start("K", 0 if self.flow.reliable else timers.t4, self.terminate)
        elif self._ack_bytes is not None and self.state in (State.COMPLETED, State.ACCEPTED):
            self.layer.transport.send(self._ack_bytes, self.flow)  # retransmitted final: ACK again

    def send_ack(self, ack: SipRequest) -> None:
        """Send the TU's ACK for a 2xx; it is re-sent when the 2xx is retransmitted (timer M, by
        what lingers of this transaction)."""
        self._ack_bytes = ack.to_bytes()
        self.layer.transport.send(self._ack_bytes, self.flow)
        if self.state is State.ACCEPTED:
            self._timers.cancel_all()
            self.layer.linger(self.layer.client, self, self._ack_bytes, State.ACCEPTED)

    def _ack_for_failure(self, response: SipResponse) -> SipRequest:
        request = self.request
        fields: list[tuple[str, str]] = [("Via", str(request.top_via))]
        fields += [(n, v) for n, v in request.fields if n in ("From", "Call-ID", "Route")]
        to_value = response.header("To") or request.header("To") or ""
        fields += [("To", to_value), ("CSeq", f"{request.cseq.number} ACK"), ("Max-Forwards", "70")]
        return SipRequest("ACK", request.uri, fields)

    def terminate(self) -> None:
        if self.state is not State.TERMINATED:
            self.state = State.TERMINATED
            self._timers.cancel_all()
            self.on_provisional = None  # see on_response
            if not self._final.done():
                self._final.set_result(make_response(self.request, 408, "Request Timeout"))
            self.layer.client_terminated(self)


RequestHandler = Callable[[ServerTransaction], None]
AckHandler = Callable[[SipRequest, Flow], None]
StatelessHandler = Callable[[SipRequest, Flow], bool]


class TransactionLayer:
    """Dispatches messages from the transport to transactions, and new requests to the TU."""

    def __init__(
        self,
        transport: SipTransportLayer,
        on_request: RequestHandler,
        *,
        on_ack: AckHandler | None = None,
        timers: TimerConfig | None = None,
        stateless: StatelessHandler | None = None,
    ) -> None:
        self.transport = transport
        self.counters = transport.counters
        self.on_request = on_request
        self.on_ack = on_ack
        # Offered each new request before a transaction is made: True when the TU answered it
        # statelessly (RFC 3261 §8.2.7), e.g. a challenge to an unauthenticated REGISTER.
        self.stateless = stateless
        self.timers = timers or TimerConfig()
        self.server: dict[Hashable, ServerTransaction | _Lingering] = {}
        self.client: dict[Hashable, ClientTransaction | _Lingering] = {}
        self._pending_2xx: dict[tuple[str, int], tuple[ServerTransaction, asyncio.TimerHandle | None]] = {}
        # Timers J, L and M are all 64*T1, so lingering order is expiry order: a FIFO swept a few
        # times a second replaces one loop timer per transaction (at thousands of REGISTERs a
        # second those timers dominated the event loop's heap).
        self._lingering: deque[_Lingering] = deque()
        self._sweeper: asyncio.TimerHandle | None = None

    # -- incoming ----------------------------------------------------------------------
    def receive(self, message: SipRequest | SipResponse, flow: Flow) -> None:
        if isinstance(message, SipResponse):
            client_tx = self.client.get((message.top_via.branch or "", message.cseq.method))
            if client_tx is not None:
                client_tx.on_response(message)
            return  # stray responses are dropped (RFC 4475 bcast)
        key = _server_key(message)
        existing = self.server.get(key)
        if message.method == "ACK":
            if isinstance(existing, ServerTransaction) and existing.state is not State.ACCEPTED:
                existing.on_retransmission(message)  # ACK for a non-2xx: absorbed here
                return
            self._ack_for_2xx(message, flow)
            return
        if existing is not None:
            self.counters.retransmissions_in += 1
            existing.on_retransmission(message)
            return
        if self.stateless is not None and message.method != "CANCEL" and self.stateless(message, flow):
            return
        tx = ServerTransaction(self, message, flow, key)
        self.server[key] = tx
        if message.method == "CANCEL":
            self._cancel(tx, message)
            return
        self.on_request(tx)

    def _cancel(self, cancel_tx: ServerTransaction, cancel: SipRequest) -> None:
        invite_tx = self.server.get(_server_key(cancel, "INVITE"))
        if invite_tx is None:
            cancel_tx.reply(481)
            return
        cancel_tx.reply(200)  # answered already (lingering): the CANCEL has no effect (§9.2)
        if isinstance(invite_tx, ServerTransaction) and invite_tx.state is State.PROCEEDING:
            invite_tx.on_cancel()

    def _ack_for_2xx(self, ack: SipRequest, flow: Flow) -> None:
        pending = self._pending_2xx.pop((ack.call_id, ack.cseq.number), None)
        if pending is not None and pending[1] is not None:
            pending[1].cancel()
        if self.on_ack is not None:
            self.on_ack(ack, flow)

    # -- UAS core: 2xx retransmission until ACK ------------------------------------------
    def start_2xx_retransmission(self, tx: ServerTransaction, data: bytes) -> None:
        key = (tx.request.call_id, tx.request.cseq.number)
        if tx.flow.reliable:
            self._pending_2xx[key] = (tx, None)
            asyncio.get_running_loop().call_later(self.timers.timeout, self._pending_2xx.pop, key, None)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timers.timeout
        first = self.timers.t1
        handle = loop.call_later(first, self._retransmit_2xx, tx, key, data, deadline, first)
        self._pending_2xx[key] = (tx, handle)

    def _retransmit_2xx(
        self, tx: ServerTransaction, key: tuple[str, int], data: bytes, deadline: float, interval: float
    ) -> None:
        # A method, not a closure that re-schedules itself: such a closure refers to itself through
        # its own cell, a cycle that kept the transaction and its messages until a full collection.
        if key not in self._pending_2xx:
            return
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline:
            del self._pending_2xx[key]
            return
        self.counters.retransmissions_out += 1
        self.transport.send(data, tx.flow)
        next_interval = min(2 * interval, self.timers.t2)
        handle = loop.call_later(next_interval, self._retransmit_2xx, tx, key, data, deadline, next_interval)
        self._pending_2xx[key] = (tx, handle)

    # -- outgoing ----------------------------------------------------------------------
    def send_request(
        self,
        request: SipRequest,
        flow: Flow,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
    ) -> ClientTransaction:
        """Start a client transaction; a top Via with a fresh branch is added if missing."""
        if request.header("Via") is None:
            host, port = self.transport.advertised_addr(flow)
            via = Via(flow.transport.upper(), host, port, {"branch": new_branch(), "rport": None})
            request.add_header("Via", str(via), first=True)
        tx = ClientTransaction(self, request, flow, on_provisional)
        self.client[tx.key] = tx
        tx.start()
        return tx

    # -- bookkeeping -------------------------------------------------------------------
    def linger(
        self, table: dict[Hashable, Any], tx: ServerTransaction | ClientTransaction, data: bytes, state: State
    ) -> None:
        """Replace ``tx`` in ``table`` (server or client) by what lingers of it (``_Lingering``)."""
        if table.get(tx.key) is not tx:
            return  # terminated already (the layer closed)
        loop = asyncio.get_running_loop()
        lingering = _Lingering(self, table, tx.key, data, tx.flow, state, loop.time() + self.timers.timeout)
        table[tx.key] = lingering
        self._lingering.append(lingering)
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._sweep_interval, self._sweep_lingering)

    @property
    def _sweep_interval(self) -> float:
        return min(0.25, max(self.timers.timeout / 16, 0.005))

    def _sweep_lingering(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        lingering = self._lingering
        while lingering and lingering[0].expires <= now:
            lingering.popleft().terminate()
        if lingering:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_interval, self._sweep_lingering)

    def server_terminated(self, tx: ServerTransaction) -> None:
        if self.server.get(tx.key) is tx:
            del self.server[tx.key]

    def client_terminated(self, tx: ClientTransaction) -> None:
        if self.client.get(tx.key) is tx:
            del self.client[tx.key]

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._lingering.clear()
        for server_tx in list(self.server.values()):
            server_tx.terminate()
        for client_tx in list(self.client.values()):
            client_tx.terminate()
        for _tx, handle in self._pending_2xx.values():
            if handle is not None:
                handle.cancel()
        self._pending_2xx.clear()
