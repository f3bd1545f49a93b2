"""Stored dialogs: what a restarted node keeps of a dialog, the BYE it builds from it, and that BYE
on loopback from a new stack on the old port, over UDP and over a new TCP connection."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.stored_dialog import CSEQ_MARGIN, StoredDialog, send_bye
from sipline.sip.transport import Flow
from sipline.sip.uac import invite
from tests.conftest import free_port
from tests.sip.test_dialog import FLOW, DialogStack, _invite, _ok


def test_a_stored_dialog_rebuilds_the_bye_the_live_dialog_would_send() -> None:
    live = Dialog.from_uac(_invite(), _ok(), FLOW)
    stored = StoredDialog.of(live, "sip:bob@10.0.0.9:5070")
    assert stored.local_cseq == 7 and stored.route_set == (
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
    )
    assert (stored.transport, stored.remote_addr, stored.local_addr) == (
        "udp",
        FLOW.remote_addr,
        FLOW.local_addr,
    )

    bye = stored.rebuilt(FLOW, DialogStack().layer).new_request("BYE")
    expected = live.new_request("BYE")
    assert bye.uri == expected.uri == "sip:bob@10.0.0.2:5062;transport=udp"  # the 2xx's Contact
    for name in ("Route", "From", "To", "Call-ID"):
        assert bye.header(name) == expected.header(name), name
    assert bye.from_.tag == "a1" and bye.to.tag == "b2"
    # relays after the last write may have used numbers: the BYE jumps past them
    assert bye.cseq.number == 7 + CSEQ_MARGIN + 1 and bye.cseq.method == "BYE"


def test_the_peer_is_tried_at_its_flow_then_its_contact_then_the_alternate_target() -> None:
    stored = StoredDialog.of(Dialog.from_uac(_invite(), _ok(), FLOW), "sip:bob@[::1];transport=tls")
    assert stored.addresses() == [("127.0.0.1", 5070), ("10.0.0.2", 5062), ("::1", 5060)]
    same = StoredDialog.of(
        Dialog.from_uac(_invite(), _ok(), Flow("udp", ("127.0.0.1", 1), ("10.0.0.2", 5062)))
    )
    assert same.addresses() == [("10.0.0.2", 5062)]  # no address twice, no alternate
    broken = StoredDialog.of(Dialog.from_uac(_invite(), _ok(), FLOW), "not a uri")
    assert broken.addresses() == [("127.0.0.1", 5070), ("10.0.0.2", 5062)]


def _server(port: int = 0) -> SipServer:
    return SipServer(SipServerConfig(port=port), StaticCredentialSource(), MemoryBindingStore())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_new_stack_on_the_old_port_ends_the_dialog_with_bye(transport: str) -> None:
    """The first stack 'crashes' (stops, forgetting the call); a second one on its port sends the BYE.
    Over TCP the first stack's connection is gone: the BYE goes over a new one."""
    peer = DialogStack()
    await peer.transport.start()
    first = _server(free_port())
    await first.start()
    try:
        host, port = first.transport.local_addr
        flow = await first.transport.flow_to(transport, ("127.0.0.1", peer.transport.port))
        suffix = "" if transport == "udp" else ";transport=tcp"
        request = peer.new_invite(peer.uri + suffix)
        request.set_header("Contact", f"<sip:sipline@{host}:{port}{suffix}>")
        result = await invite(first, request, flow, dialogs=first.dialogs)
        assert result.response.status == 200 and result.dialog is not None
        stored = StoredDialog.of(result.dialog)
        assert len(peer.table) == 1
    finally:
        await first.stop()

    again = _server(port)
    await again.start()
    try:
        assert (await send_bye(again, stored)).status == 200
        assert len(peer.table) == 0  # the peer's dialog ended with our BYE
        assert [dialog.state for dialog in peer.incoming] == [DialogState.TERMINATED]
    finally:
        await again.stop()
        await peer.close()


async def test_a_bye_to_a_peer_that_is_gone_raises_instead_of_hanging() -> None:
    gone = ("127.0.0.1", free_port())  # nothing listens there
    live = Dialog.from_uac(_invite(), _ok(), Flow("tcp", ("127.0.0.1", 5060), gone, connection_id=1))
    stored = replace(StoredDialog.of(live), remote_target=f"sip:x@{gone[0]}:{gone[1]};transport=tcp")
    server = _server()
    await server.start()
    try:
        with pytest.raises(OSError):
            await send_bye(server, stored)
    finally:
        await server.stop()
