"""The SipServer routes calls: new INVITEs to the call layer (`on_invite`), in-dialog requests to
their dialog (481 when there is none), ACKs for our 2xx to the dialog; without a call layer, 405."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.transaction import ServerTransaction
from tests.sip.conftest import SIPP, need, run_sipp
from tests.sip.peer import RawPeer
from tests.sip.test_dialog import SDP


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    srv = SipServer(SipServerConfig(host="127.0.0.1", port=0), StaticCredentialSource(), MemoryBindingStore())
    await srv.start()
    yield srv
    await srv.stop()


def in_dialog_bye(peer: RawPeer) -> bytes:
    host, port = peer.server
    return (
        f"BYE sip:callee@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK-stray-bye;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:caller@127.0.0.1>;tag=caller-tag\r\n"
        f"To: <sip:callee@{host}>;tag=no-such-dialog\r\n"
        "Call-ID: stray-bye@127.0.0.1\r\n"
        "CSeq: 2 BYE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def test_request_for_an_unknown_dialog_gets_481(server: SipServer) -> None:
    peer = await RawPeer(server.port).open()
    try:
        peer.send_raw(in_dialog_bye(peer))
        answer = await peer.receive()
        assert answer is not None and answer.status == 481
    finally:
        await peer.close()


async def test_without_a_call_layer_invites_are_refused(server: SipServer) -> None:
    peer = await RawPeer(server.port).open()
    try:
        peer.send_raw(peer.build("INVITE", "caller", call_id="no-call-layer@127.0.0.1", cseq=1))
        answer = await peer.receive()
        assert answer is not None and answer.status == 405
        assert "INVITE" not in (answer.header("Allow") or "")
    finally:
        await peer.close()


@pytest.mark.interop
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_calls_reach_the_call_layer_and_their_dialogs(
    server: SipServer, tmp_path: Path, transport: str
) -> None:
    need(SIPP)
    answered: list[Dialog] = []

    def on_invite(tx: ServerTransaction) -> None:
        server.dialogs.answer(tx, 180)
        dialog = server.dialogs.answer(tx, 200, body=SDP, content_type="application/sdp")
        assert dialog is not None
        answered.append(dialog)

    server.on_invite = on_invite
    mode = "u1" if transport == "udp" else "t1"
    args = ["-sn", "uac", f"127.0.0.1:{server.port}", "-i", "127.0.0.1",
            "-t", mode, "-m", "3", "-r", "30", "-d", "100"]  # fmt: skip
    result = await run_sipp(args, tmp_path, timeout=15)
    assert result.returncode == 0, result.stdout[-1000:] + result.stderr[-1000:]
    assert len(answered) == 3
    for dialog in answered:  # each got SIPp's ACK through the server, and SIPp's BYE ended it
        assert dialog.acked.is_set() and dialog.state is DialogState.TERMINATED
    assert len(server.dialogs) == 0
