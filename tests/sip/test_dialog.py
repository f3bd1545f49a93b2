"""Dialogs: request construction (route sets, tags, CSeq) and two of our stacks on loopback UDP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.dialog import Dialog, DialogState, DialogTable
from sipline.sip.digest import DigestClient, DigestCredentials, DigestServer, Verdict
from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse, parse_message
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.transaction import ServerTransaction, TimerConfig, TransactionLayer, new_tag
from sipline.sip.transport import Flow, SipTransportLayer
from sipline.sip.uac import build_cancel, invite

SDP = b"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
FLOW = Flow("udp", ("127.0.0.1", 5060), ("127.0.0.1", 5070))


def _msg(text: str) -> SipRequest | SipResponse:
    return parse_message(text.replace("\n", "\r\n").encode())


def _invite() -> SipRequest:
    msg = _msg(
        "INVITE sip:bob@example.com SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\n"
        "Max-Forwards: 70\n"
        'From: "Alice" <sip:alice@example.com>;tag=a1\n'
        "To: <sip:bob@example.com>\n"
        "Call-ID: c1@host\n"
        "CSeq: 7 INVITE\n"
        "Contact: <sip:alice@127.0.0.1:5060>\n"
        'Authorization: Digest username="a"\n'
        "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
        "Content-Length: 0\n\n"
    )
    assert isinstance(msg, SipRequest)
    return msg


def _ok(
    record_route: str = "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>", status: int = 200
) -> SipResponse:
    msg = _msg(
        f"SIP/2.0 {status} OK\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\n"
        'From: "Alice" <sip:alice@example.com>;tag=a1\n'
        "To: <sip:bob@example.com>;tag=b2\n"
        "Call-ID: c1@host\n"
        "CSeq: 7 INVITE\n"
        "Contact: <sip:bob@10.0.0.2:5062;transport=udp>\n"
        f"Record-Route: {record_route}\n"
        "Content-Length: 0\n\n"
    )
    assert isinstance(msg, SipResponse)
    return msg


# -- construction ------------------------------------------------------------------------
def test_uac_dialog_reverses_record_route_and_builds_bye() -> None:
    dialog = Dialog.from_uac(_invite(), _ok(), FLOW)
    assert dialog.id == ("c1@host", "a1", "b2")
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    bye = dialog.new_request("BYE")
    assert bye.uri == "sip:bob@10.0.0.2:5062;transport=udp"  # loose routing: the remote target
    assert bye.headers("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert bye.from_.tag == "a1" and bye.to.tag == "b2" and bye.from_.display_name == '"Alice"'
    assert bye.call_id == "c1@host" and str(bye.cseq) == "8 BYE"
    assert bye.max_forwards == 70 and bye.header("Contact") is None
    assert bye.header("Via") is None  # added by the transaction layer
    reinvite = dialog.new_request("INVITE", body=SDP, content_type="application/sdp")
    assert str(reinvite.cseq) == "9 INVITE" and reinvite.header("Contact") == "<sip:alice@127.0.0.1:5060>"
    assert reinvite.header("Content-Type") == "application/sdp" and reinvite.body == SDP


def test_ack_reuses_invite_cseq_with_own_branch_and_credentials() -> None:
    request = _invite()
    dialog = Dialog.from_uac(request, _ok(), FLOW)
    ack = dialog.create_ack(request)
    assert ack.method == "ACK" and str(ack.cseq) == "7 ACK"
    assert ack.top_via.branch is not None and ack.top_via.branch != "z9hG4bKabc"
    assert ack.top_via.branch.startswith("z9hG4bK") and ack.top_via.sent_by == "127.0.0.1:5060"
    assert ack.header("Authorization") == 'Digest username="a"'
    assert ack.headers("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.new_request("BYE").cseq.number == 8  # the ACK took no number of its own
    ack.validate()


def test_strict_route_puts_next_hop_in_request_uri() -> None:
    dialog = Dialog.from_uac(_invite(), _ok("<sip:p2.example.com>, <sip:p1.example.com;maddr=1.2.3.4>"), FLOW)
    bye = dialog.new_request("BYE")
    assert bye.uri == "sip:p1.example.com"
    assert bye.headers("Route") == ["<sip:p2.example.com>", "<sip:bob@10.0.0.2:5062;transport=udp>"]


def test_no_route_set_means_no_route_header() -> None:
    response = _ok()
    response.remove_header("Record-Route")
    dialog = Dialog.from_uac(_invite(), response, FLOW)
    bye = dialog.new_request("BYE")
    assert bye.header("Route") is None and bye.uri == "sip:bob@10.0.0.2:5062;transport=udp"


def test_uas_dialog_keeps_record_route_order_and_swaps_tags() -> None:
    request = _invite()
    dialog = Dialog.from_uas(request, "b2", "sip:bob@127.0.0.1:5070", FLOW)
    assert dialog.id == ("c1@host", "b2", "a1")
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.remote_target == "sip:alice@127.0.0.1:5060"
    bye = dialog.new_request("BYE")
    assert bye.from_.tag == "b2" and str(bye.from_.uri) == "sip:bob@example.com"
    assert bye.to.tag == "a1" and bye.to.display_name == '"Alice"'
    assert str(bye.cseq) == "1 BYE"  # our own CSeq space, independent of the peer's 7
    assert bye.headers("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.local_contact == "<sip:bob@127.0.0.1:5070>"


def test_remote_cseq_must_not_go_down() -> None:
    dialog = Dialog.from_uas(_invite(), "b2", "sip:bob@127.0.0.1:5070", FLOW)
    later = _invite()
    later.set_header("CSeq", "9 INFO")
    assert dialog.check_remote_cseq(later) and dialog.remote_cseq == 9
    later.set_header("CSeq", "8 INFO")
    assert not dialog.check_remote_cseq(later) and dialog.remote_cseq == 9


def test_dialog_creation_rules() -> None:
    with pytest.raises(ValueError):
        Dialog.from_uac(_invite(), _ok(status=100), FLOW)
    request = _invite()
    request.remove_header("Contact")
    with pytest.raises(SipParseError):
        Dialog.from_uas(request, "b2", "sip:bob@127.0.0.1", FLOW)


def test_early_dialog_route_set_is_fixed_by_the_2xx() -> None:
    ringing = _ok("<sip:early.example.com;lr>", status=180)
    dialog = Dialog.from_uac(_invite(), ringing, FLOW)
    assert dialog.state is DialogState.EARLY and dialog.route_set == ["<sip:early.example.com;lr>"]
    dialog.update_from_response(_ok(), "INVITE")
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


def test_cancel_copies_the_invite_branch() -> None:
    request = _invite()
    cancel = build_cancel(request)
    assert cancel.uri == request.uri and str(cancel.cseq) == "7 CANCEL"
    assert cancel.top_via.branch == "z9hG4bKabc" and len(cancel.vias) == 1
    assert cancel.header("To") == "<sip:bob@example.com>" and cancel.header("Authorization") is None
    cancel.validate()


# -- two of our stacks on loopback -------------------------------------------------------
FAST = TimerConfig(t1=0.05, t2=0.2, t4=0.2, timer_d=0.2)


class DialogStack:
    """Transport + transactions + DialogTable; new INVITEs are answered 180 then ``status``."""

    def __init__(self, answer_status: int | None = 200, timers: TimerConfig = FAST) -> None:
        self.transport = SipTransportLayer("127.0.0.1", 0, lambda m, f: self.layer.receive(m, f))
        self.layer = TransactionLayer(self.transport, self.on_request, on_ack=self.on_ack, timers=timers)
        self.table = DialogTable(self.layer)
        self.answer_status = answer_status
        self.incoming: list[Dialog] = []
        self.in_dialog: list[tuple[Dialog, str]] = []
        self.stray_acks = 0
        self.cancels_seen = 0  # by the TU's own cancel callback, registered after the dialog layer's

    def on_request(self, tx: ServerTransaction) -> None:
        if self.table.handle_request(tx):
            return
        if tx.method != "INVITE":
            tx.reply(405)
            return
        dialog = self.table.answer(tx, 180)
        assert dialog is not None
        tx.add_cancel_callback(self._cancel_seen)
        dialog.on_request = self.on_in_dialog
        self.incoming.append(dialog)
        if self.answer_status is not None:
            self.table.answer(tx, self.answer_status, body=SDP, content_type="application/sdp")

    def _cancel_seen(self) -> None:
        self.cancels_seen += 1

    def on_in_dialog(self, dialog: Dialog, tx: ServerTransaction) -> None:
        self.in_dialog.append((dialog, tx.method))
        tx.reply(200, headers=[("Contact", dialog.local_contact)])

    def on_ack(self, ack: SipRequest, flow: Flow) -> None:
        if not self.table.handle_ack(ack, flow):
            self.stray_acks += 1

    @property
    def uri(self) -> str:
        return f"sip:stack@127.0.0.1:{self.transport.port}"

    def new_invite(self, target: str) -> SipRequest:
        host, port = self.transport.local_addr
        return SipRequest("INVITE", target, [
            ("Max-Forwards", "70"), ("From", f"<sip:caller@{host}:{port}>;tag={new_tag()}"),
            ("To", f"<{target}>"), ("Call-ID", f"{new_tag()}@{host}"), ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:caller@{host}:{port}>"), ("Content-Type", "application/sdp"),
        ], SDP)  # fmt: skip

    async def close(self) -> None:
        self.layer.close()
        await self.transport.stop()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[DialogStack, DialogStack]]:
    a, b = DialogStack(), DialogStack()
    await a.transport.start()
    await b.transport.start()
    yield a, b
    await a.close()
    await b.close()


async def _flow(a: DialogStack, b: DialogStack) -> Flow:
    return await a.transport.flow_to("udp", ("127.0.0.1", b.transport.port))


async def test_call_info_reinvite_bye(pair: tuple[DialogStack, DialogStack]) -> None:
    a, b = pair
    ringing: list[int] = []
    result = await invite(a.layer, a.new_invite(b.uri), await _flow(a, b),
                          on_provisional=lambda r: ringing.append(r.status), dialogs=a.table)  # fmt: skip
    assert result.response.status == 200 and ringing == [180]
    ours = result.dialog
    assert ours is not None and ours.state is DialogState.CONFIRMED and len(a.table) == 1
    theirs = b.incoming[0]
    await asyncio.wait_for(theirs.acked.wait(), 2)
    assert theirs.state is DialogState.CONFIRMED and theirs.id == (
        ours.call_id,
        ours.remote.tag,
        ours.local.tag,
    )

    assert (await ours.request("INFO", body=b"dtmf", content_type="application/dtmf")).status == 200
    ours.local_contact = f"<sip:moved@127.0.0.1:{a.transport.port}>"
    theirs.acked.clear()
    assert (await ours.request("INVITE", body=SDP, content_type="application/sdp")).status == 200
    await asyncio.wait_for(theirs.acked.wait(), 2)  # the re-INVITE's 2xx was ACKed in the dialog
    assert theirs.remote_target == f"sip:moved@127.0.0.1:{a.transport.port}"
    assert [m for _, m in b.in_dialog] == ["INFO", "INVITE"] and b.stray_acks == 0

    assert (await ours.bye()).status == 200
    assert ours.state is DialogState.TERMINATED and theirs.state is DialogState.TERMINATED
    assert len(a.table) == 0 and len(b.table) == 0
    # the dialog is gone at the far end: another request gets 481
    stale = ours.new_request("INFO")
    assert (await a.layer.send_request(stale, ours.flow).final_response()).status == 481


async def test_lower_cseq_gets_500(pair: tuple[DialogStack, DialogStack]) -> None:
    a, b = pair
    result = await invite(a.layer, a.new_invite(b.uri), await _flow(a, b))
    assert result.dialog is not None
    dialog = result.dialog
    assert (await dialog.request("INFO")).status == 200
    dialog.local_cseq -= 2
    assert (await dialog.request("INFO")).status == 500
    assert (await dialog.bye()).status == 200


async def test_callee_hangs_up(pair: tuple[DialogStack, DialogStack]) -> None:
    a, b = pair
    result = await invite(a.layer, a.new_invite(b.uri), await _flow(a, b), dialogs=a.table)
    assert result.dialog is not None
    assert (await b.incoming[0].bye()).status == 200
    assert result.dialog.state is DialogState.TERMINATED and len(a.table) == 0


async def test_cancel_ringing_call_on_loopback(pair: tuple[DialogStack, DialogStack]) -> None:
    a, b = pair
    b.answer_status = None  # ring forever
    call = invite(a.layer, a.new_invite(b.uri), await _flow(a, b))
    call.cancel()  # before any provisional: sent once the 180 arrives
    result = await asyncio.wait_for(call, 3)
    assert result.response.status == 487 and result.cancelled and result.dialog is None
    assert result.cancel_response is not None and result.cancel_response.status == 200
    assert b.incoming[0].state is DialogState.TERMINATED and len(b.table) == 0
    # The dialog layer's callback answered 487 first; the TU's, after it, still learnt of the CANCEL
    # (the sandbox carrier's ringing waited for it: without it, a task and its dialog per cancelled call).
    assert b.cancels_seen == 1


async def test_rejected_invite_leaves_no_dialog(pair: tuple[DialogStack, DialogStack]) -> None:
    a, b = pair
    b.answer_status = 486
    result = await invite(a.layer, a.new_invite(b.uri), await _flow(a, b), dialogs=a.table)
    assert result.response.status == 486 and result.dialog is None
    assert len(a.table) == 0 and len(b.table) == 0


async def test_sipserver_places_the_call(pair: tuple[DialogStack, DialogStack]) -> None:
    """``invite`` and ``DialogTable`` accept a SipServer (its transaction layer is used)."""
    _, b = pair
    server = SipServer(SipServerConfig(port=0), StaticCredentialSource(), MemoryBindingStore())
    await server.start()
    try:
        flow = await server.transport.flow_to("udp", ("127.0.0.1", b.transport.port))
        host, port = server.transport.local_addr
        request = b.new_invite(b.uri)
        request.set_header("Contact", f"<sip:sipline@{host}:{port}>")
        table = DialogTable(server)
        result = await invite(server, request, flow, dialogs=table)
        assert result.response.status == 200 and result.dialog is not None and len(table) == 1
        assert (await result.dialog.bye()).status == 200 and len(table) == 0
        with pytest.raises(ValueError):
            invite(server, result.dialog.new_request("INFO"), flow)
    finally:
        await server.stop()


class ProxyAuthStack(DialogStack):
    """Answers INVITEs only with valid Proxy-Authorization (a 407-challenging trunk)."""

    def __init__(self) -> None:
        super().__init__()
        self.digest = DigestServer("proxy.test", algorithms=("MD5",))
        self.acks: list[SipRequest] = []

    def on_request(self, tx: ServerTransaction) -> None:
        answer = tx.request.header("Proxy-Authorization")
        if tx.method == "INVITE" and tx.request.to.tag is None:
            if answer is None:
                tx.reply(407, headers=[("Proxy-Authenticate", v) for v in self.digest.challenges()])
                return
            if self.digest.verify(DigestCredentials.parse(answer), "trunkpass", "INVITE") is not Verdict.OK:
                tx.reply(403)
                return
        super().on_request(tx)

    def on_ack(self, ack: SipRequest, flow: Flow) -> None:
        self.acks.append(ack)
        super().on_ack(ack, flow)


async def test_407_is_answered_once_with_proxy_authorization() -> None:
    a, b = DialogStack(), ProxyAuthStack()
    await a.transport.start()
    await b.transport.start()
    try:
        flow = await _flow(a, b)
        result = await invite(a.layer, a.new_invite(b.uri), flow, DigestClient("trunkuser", "trunkpass"))
        assert result.response.status == 200 and result.dialog is not None
        assert b.incoming[0].remote_cseq == 2  # the retried INVITE took CSeq 2
        await asyncio.wait_for(b.incoming[0].acked.wait(), 2)
        assert b.acks[-1].header("Proxy-Authorization") is not None  # the ACK repeats the credentials
        assert (await result.dialog.bye()).status == 200
        wrong = await invite(a.layer, a.new_invite(b.uri), flow, DigestClient("trunkuser", "nope"))
        assert wrong.response.status == 403 and wrong.dialog is None
        unanswered = await invite(a.layer, a.new_invite(b.uri), flow)  # no credentials: the 407 stands
        assert unanswered.response.status == 407
    finally:
        await a.close()
        await b.close()
