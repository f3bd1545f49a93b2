"""Transaction state machines on real UDP sockets (fast timers): retransmission, ACK, CANCEL, timeouts."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable

import pytest

from sipline.sip.message import SipRequest, SipResponse, make_response, parse_message
from sipline.sip.transaction import ServerTransaction, State, TimerConfig, TransactionLayer
from sipline.sip.transport import SipTransportLayer

FAST = TimerConfig(t1=0.02, t2=0.08, t4=0.1, timer_d=0.2)


class Peer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[SipRequest | SipResponse] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait(parse_message(data))

    async def next(self, timeout: float = 1.0) -> SipRequest | SipResponse | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[SipRequest | SipResponse]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


class Stack:
    def __init__(self, handler: Callable[[ServerTransaction], object]) -> None:
        self.requests: list[ServerTransaction] = []
        self.acks: list[SipRequest] = []

        def on_request(tx: ServerTransaction) -> None:
            self.requests.append(tx)
            handler(tx)

        self.transport = SipTransportLayer("127.0.0.1", 0, lambda m, f: self.layer.receive(m, f))
        self.layer = TransactionLayer(self.transport, on_request, on_ack=lambda a, f: self.acks.append(a),
                                      timers=FAST)  # fmt: skip


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    yield protocol
    assert protocol.transport is not None
    protocol.transport.close()


async def make_stack(handler: Callable[[ServerTransaction], object]) -> Stack:
    stack = Stack(handler)
    await stack.transport.start()
    return stack


def request(
    peer: Peer, method: str, branch: str | None, cseq_method: str | None = None, to_tag: str = ""
) -> bytes:
    assert peer.transport is not None
    port = peer.transport.get_extra_info("sockname")[1]
    branch_param = f";branch={branch}" if branch else ""
    to = f"<sip:b@127.0.0.1>{';tag=' + to_tag if to_tag else ''}"
    return (
        f"{method} sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port}{branch_param}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f1\r\nTo: {to}\r\nCall-ID: call-1\r\n"
        f"CSeq: 7 {cseq_method or method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def send(peer: Peer, stack: Stack, data: bytes) -> None:
    assert peer.transport is not None
    peer.transport.sendto(data, ("127.0.0.1", stack.transport.port))


def outgoing(method: str, port: int, call_id: str) -> SipRequest:
    """A request of ours to the peer's ``port`` (the layer adds the Via)."""
    return SipRequest(method, f"sip:x@127.0.0.1:{port}", [
        ("Max-Forwards", "70"), ("From", "<sip:a@127.0.0.1>;tag=z"), ("To", "<sip:x@127.0.0.1>"),
        ("Call-ID", call_id), ("CSeq", f"1 {method}"),
    ])  # fmt: skip


@pytest.mark.parametrize("branch", ["z9hG4bKnonInvite1", None])  # RFC 3261 and RFC 2543 matching
async def test_non_invite_retransmission_gets_same_answer(peer: Peer, branch: str | None) -> None:
    stack = await make_stack(lambda tx: tx.reply(200))
    try:
        send(peer, stack, request(peer, "OPTIONS", branch))
        first = await peer.next()
        send(peer, stack, request(peer, "OPTIONS", branch))
        again = await peer.next()
        assert isinstance(first, SipResponse) and isinstance(again, SipResponse)
        assert bytes(first) == bytes(again)
        assert len(stack.requests) == 1
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_invite_failure_is_retransmitted_until_ack(peer: Peer) -> None:
    stack = await make_stack(lambda tx: tx.reply(486))
    try:
        send(peer, stack, request(peer, "INVITE", "z9hG4bKinv1"))
        await asyncio.sleep(0.25)
        busy = [m for m in peer.drain() if isinstance(m, SipResponse) and m.status == 486]
        assert len(busy) >= 3  # timer G at 20, 40, 80 ms ...
        to_tag = busy[0].to.tag
        assert to_tag
        send(peer, stack, request(peer, "ACK", "z9hG4bKinv1", to_tag=to_tag))
        await asyncio.sleep(0.05)
        peer.drain()
        await asyncio.sleep(0.2)
        assert peer.drain() == []  # ACK absorbed: no more retransmissions
        assert stack.acks == []  # ... and not passed to the TU
        assert stack.requests[0].state in (State.CONFIRMED, State.TERMINATED)
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_cancel_terminates_pending_invite(peer: Peer) -> None:
    stack = await make_stack(lambda tx: tx.reply(180) if tx.method == "INVITE" else tx.reply(200))
    try:
        send(peer, stack, request(peer, "INVITE", "z9hG4bKinv2"))
        ringing = await peer.next()
        assert isinstance(ringing, SipResponse) and ringing.status == 180
        send(peer, stack, request(peer, "CANCEL", "z9hG4bKinv2"))
        answers = {(m.status, m.cseq.method) for m in [await peer.next(), await peer.next()] if m is not None
                   and isinstance(m, SipResponse)}  # fmt: skip
        assert answers == {(200, "CANCEL"), (487, "INVITE")}
        send(peer, stack, request(peer, "CANCEL", "z9hG4bKnosuch"))
        unknown = await peer.next()
        assert isinstance(unknown, SipResponse) and unknown.status == 481
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_2xx_retransmitted_until_ack_reaches_tu(peer: Peer) -> None:
    stack = await make_stack(lambda tx: tx.reply(200))
    try:
        send(peer, stack, request(peer, "INVITE", "z9hG4bKinv3"))
        await asyncio.sleep(0.15)
        oks = [m for m in peer.drain() if isinstance(m, SipResponse) and m.status == 200]
        assert len(oks) >= 2
        send(peer, stack, request(peer, "ACK", "z9hG4bKack3", "ACK", to_tag=oks[0].to.tag or ""))
        await asyncio.sleep(0.05)
        peer.drain()
        await asyncio.sleep(0.15)
        assert peer.drain() == [] and len(stack.acks) == 1
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_client_transaction_times_out_with_408(peer: Peer) -> None:
    stack = await make_stack(lambda tx: tx.reply(200))
    try:
        assert peer.transport is not None
        port = peer.transport.get_extra_info("sockname")[1]
        options = outgoing("OPTIONS", port, "t-1")
        flow = await stack.transport.flow_to("udp", ("127.0.0.1", port))
        tx = stack.layer.send_request(options, flow)
        final = await asyncio.wait_for(tx.final_response(), 3)
        assert final.status == 408
        seen = peer.drain()
        assert len(seen) >= 5 and all(isinstance(m, SipRequest) and m.method == "OPTIONS" for m in seen)
        assert stack.layer.client == {}
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_timer_c_ends_an_invite_that_only_rings(peer: Peer) -> None:
    transport = SipTransportLayer("127.0.0.1", 0, lambda m, f: layer.receive(m, f))
    layer = TransactionLayer(transport, lambda tx: None, timers=TimerConfig(t1=0.02, timer_c=0.3))
    await transport.start()
    try:
        assert peer.transport is not None
        port = peer.transport.get_extra_info("sockname")[1]
        invite = outgoing("INVITE", port, "c-1")
        tx = layer.send_request(invite, await transport.flow_to("udp", ("127.0.0.1", port)))
        received = await peer.next()
        assert isinstance(received, SipRequest)
        ringing = make_response(received, 180, to_tag="r1")
        peer.transport.sendto(ringing.to_bytes(), ("127.0.0.1", transport.port))
        started = asyncio.get_running_loop().time()
        final = await asyncio.wait_for(tx.final_response(), 2)
        assert final.status == 408 and 0.25 < asyncio.get_running_loop().time() - started < 1.0
        assert [r.status for r in tx.provisional] == [180]
    finally:
        layer.close()
        await transport.stop()


async def test_an_answered_invite_lingers_as_its_2xx_alone(peer: Peer) -> None:
    """RFC 6026 Accepted (timer L): a retransmitted INVITE gets the same 2xx, a CANCEL 200 and no
    487; the transaction and its parsed messages are freed as soon as the TU lets go of them."""
    stack = await make_stack(lambda tx: tx.reply(200))
    try:
        send(peer, stack, request(peer, "INVITE", "z9hG4bKinv4"))
        ok = await peer.next()
        assert isinstance(ok, SipResponse) and ok.status == 200
        send(peer, stack, request(peer, "ACK", "z9hG4bKack4", "ACK", to_tag=ok.to.tag or ""))
        await asyncio.sleep(0.05)
        peer.drain()
        answered = weakref.ref(stack.requests.pop())
        assert answered() is None  # nothing but the TU held it: no cycle waits for the collector
        send(peer, stack, request(peer, "INVITE", "z9hG4bKinv4"))
        again = await peer.next()
        assert isinstance(again, SipResponse) and bytes(again) == bytes(ok)
        send(peer, stack, request(peer, "CANCEL", "z9hG4bKinv4"))
        cancelled = await peer.next()
        assert isinstance(cancelled, SipResponse) and (cancelled.status, cancelled.cseq.method) == (
            200,
            "CANCEL",
        )
        assert await peer.next(0.1) is None and stack.requests == []
        await asyncio.sleep(FAST.timeout + 0.2)
        assert stack.layer.server == {}  # timer L fired
    finally:
        stack.layer.close()
        await stack.transport.stop()


async def test_an_acknowledged_2xx_lingers_as_its_ack_alone(peer: Peer) -> None:
    """RFC 6026 Accepted on the client (timer M): a retransmitted 2xx gets the same ACK again, and
    the transaction is freed as soon as the TU lets go of it."""
    stack = await make_stack(lambda tx: None)
    try:
        assert peer.transport is not None
        port = peer.transport.get_extra_info("sockname")[1]
        invite = outgoing("INVITE", port, "m-1")
        tx = stack.layer.send_request(invite, await stack.transport.flow_to("udp", ("127.0.0.1", port)))
        received = await peer.next()
        assert isinstance(received, SipRequest)
        ok = make_response(received, 200, to_tag="m1").to_bytes()
        peer.transport.sendto(ok, ("127.0.0.1", stack.transport.port))
        assert (await asyncio.wait_for(tx.final_response(), 1)).status == 200
        ack = SipRequest("ACK", f"sip:x@127.0.0.1:{port}", [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{stack.transport.port};branch=z9hG4bKackm1"),
            ("Max-Forwards", "70"), ("From", "<sip:a@127.0.0.1>;tag=z"), ("To", "<sip:x@127.0.0.1>;tag=m1"),
            ("Call-ID", "m-1"), ("CSeq", "1 ACK"),
        ])  # fmt: skip
        tx.send_ack(ack)
        first = await peer.next()
        assert isinstance(first, SipRequest) and first.method == "ACK"
        acknowledged = weakref.ref(tx)
        del tx
        assert acknowledged() is None
        peer.transport.sendto(ok, ("127.0.0.1", stack.transport.port))  # the ACK was lost
        again = await peer.next()
        assert isinstance(again, SipRequest) and bytes(again) == bytes(first)
        await asyncio.sleep(FAST.timeout + 0.2)
        assert stack.layer.client == {}  # timer M fired
    finally:
        stack.layer.close()
        await stack.transport.stop()
