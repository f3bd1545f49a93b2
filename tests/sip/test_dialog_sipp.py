"""Dialogs against SIPp: our UAC calls SIPp callees (plain, record-routed, cancelled, carrier
with digest), and SIPp's uac calls a UAS built on DialogTable. SIPp exits 0 only when every
message it expected arrived and passed its checks (Route, Request-URI, CSeq, tags)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.sip.dialog import DialogState
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipResponse
from sipline.sip.transaction import TimerConfig
from sipline.sip.uac import invite
from tests.conftest import HeldPort
from tests.sip.conftest import SCENARIOS, SIPP, need, run_sipp, sipp_errors, start_sipp
from tests.sip.test_dialog import DialogStack

pytestmark = pytest.mark.interop

MODES = {"udp": "u1", "tcp": "t1"}


class SippPeer:
    """SIPp as a callee for our UAC; killed on close (run_sipp's task would leave it running)."""

    def __init__(self, scenario: str, tmp_path: Path, transport: str = "udp", calls: int = 1) -> None:
        self.held = HeldPort()  # promised to our UAC (target): kept until SIPp binds it
        self.port = self.held.port
        self.args = ["-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(self.port),
                     "-t", MODES[transport], "-m", str(calls),
                     "-timeout", "15", "-timeout_error"]  # fmt: skip
        self.cwd = tmp_path
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def target(self) -> str:
        return f"sip:callee@127.0.0.1:{self.port}"

    async def start(self) -> None:
        need(SIPP)
        self.proc = await start_sipp(self.args, self.cwd, self.held)

    async def passed(self) -> None:
        """SIPp ran every call of its scenario to the end, with all its checks passing."""
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), 20)
        errors = sipp_errors(self.cwd, self.port).read_text(errors="replace")
        assert self.proc.returncode == 0, errors[-1500:]

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def stack() -> AsyncIterator[DialogStack]:
    stack = DialogStack(timers=TimerConfig())
    await stack.transport.start()
    yield stack
    await stack.close()


@pytest.fixture
async def sipp_peers() -> AsyncIterator[list[SippPeer]]:
    peers: list[SippPeer] = []
    yield peers
    for peer in peers:
        await peer.close()


async def _callee(
    peers: list[SippPeer], scenario: str, tmp_path: Path, transport: str = "udp", calls: int = 1
) -> SippPeer:
    peer = SippPeer(scenario, tmp_path, transport, calls)
    peers.append(peer)
    await peer.start()
    return peer


Peers = list[SippPeer]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_our_uac_calls_sipp_uas_and_hangs_up(
    stack: DialogStack, sipp_peers: Peers, tmp_path: Path, transport: str
) -> None:
    """INVITE/180/200/ACK then our BYE, with a route set SIPp checks on the ACK and BYE."""
    peer = await _callee(sipp_peers, "dialog_uas_record_route.xml", tmp_path, transport)
    flow = await stack.transport.flow_to(transport, ("127.0.0.1", peer.port))
    seen: list[int] = []
    result = await invite(stack.layer, stack.new_invite(peer.target), flow,
                          on_provisional=lambda r: seen.append(r.status), dialogs=stack.table)  # fmt: skip
    assert result.response.status == 200 and 180 in seen
    dialog = result.dialog
    assert dialog is not None and dialog.state is DialogState.CONFIRMED and len(stack.table) == 1
    assert dialog.route_set == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert dialog.remote_target.startswith("sip:callee@127.0.0.1:")
    assert (await dialog.bye()).status == 200
    assert dialog.state is DialogState.TERMINATED and len(stack.table) == 0
    await peer.passed()  # Request-URI, Route, CSeq and To tag of our ACK and BYE were right


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_concurrent_calls_to_sipp_uas(
    stack: DialogStack, sipp_peers: Peers, tmp_path: Path, transport: str
) -> None:
    """Three calls at once against SIPp's uas (uas_short.xml: -sn uas with a shorter last wait)."""
    peer = await _callee(sipp_peers, "uas_short.xml", tmp_path, transport, calls=3)
    flow = await stack.transport.flow_to(transport, ("127.0.0.1", peer.port))

    async def call() -> tuple[int, int]:
        result = await invite(stack.layer, stack.new_invite(peer.target), flow, dialogs=stack.table)
        assert result.dialog is not None
        return result.response.status, (await result.dialog.bye()).status

    assert await asyncio.gather(call(), call(), call()) == [(200, 200)] * 3
    assert len(stack.table) == 0
    await peer.passed()


@pytest.mark.parametrize("when", ["ringing", "immediately"])
async def test_cancel_ringing_call(stack: DialogStack, sipp_peers: Peers, tmp_path: Path, when: str) -> None:
    peer = await _callee(sipp_peers, "dialog_uas_cancel.xml", tmp_path)
    flow = await stack.transport.flow_to("udp", ("127.0.0.1", peer.port))
    ringing = asyncio.Event()
    call = invite(stack.layer, stack.new_invite(peer.target), flow, on_provisional=lambda r: ringing.set())
    if when == "ringing":
        await asyncio.wait_for(ringing.wait(), 3)
    call.cancel()  # "immediately": held back until the 180 arrives (§9.1)
    result = await asyncio.wait_for(call, 5)
    assert result.response.status == 487 and result.cancelled and result.dialog is None
    assert isinstance(result.cancel_response, SipResponse) and result.cancel_response.status == 200
    await peer.passed()  # SIPp got a CANCEL with CSeq 1 and the ACK of its 487


async def test_200_crossing_cancel_is_acked_and_hung_up(
    stack: DialogStack, sipp_peers: Peers, tmp_path: Path
) -> None:
    peer = await _callee(sipp_peers, "dialog_uas_cancel_crossed.xml", tmp_path)
    flow = await stack.transport.flow_to("udp", ("127.0.0.1", peer.port))
    ringing = asyncio.Event()
    call = invite(stack.layer, stack.new_invite(peer.target), flow, on_provisional=lambda r: ringing.set())
    await asyncio.wait_for(ringing.wait(), 3)
    call.cancel()
    result = await asyncio.wait_for(call, 5)
    assert result.response.status == 200 and result.cancelled
    assert result.cancel_response is not None and result.cancel_response.status == 481
    assert result.dialog is not None and result.dialog.state is DialogState.TERMINATED
    await peer.passed()  # SIPp got the ACK and then the BYE (CSeq 2)


@pytest.mark.parametrize(("password", "expected"), [("trunkpass", 200), ("wrong", 403)])
async def test_carrier_challenge(
    stack: DialogStack, sipp_peers: Peers, tmp_path: Path, password: str, expected: int
) -> None:
    """carrier_auth_uas.xml 401-challenges the INVITE and checks the digest (verifyauth)."""
    peer = await _callee(sipp_peers, "carrier_auth_uas.xml", tmp_path)
    flow = await stack.transport.flow_to("udp", ("127.0.0.1", peer.port))
    request = stack.new_invite(peer.target.replace("callee", "+15551230000"))
    result = await invite(stack.layer, request, flow, DigestClient("trunkuser", password))
    assert result.response.status == expected
    if expected == 200:
        assert result.dialog is not None and result.dialog.local_cseq == 2  # the retried INVITE's
        assert (await result.dialog.bye()).status == 200
    else:
        assert result.dialog is None
    await peer.passed()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_uac_calls_our_uas(stack: DialogStack, tmp_path: Path, transport: str) -> None:
    """SIPp's built-in uac: INVITE, our 180/200 (DialogTable.answer), its ACK and BYE."""
    need(SIPP)
    args = ["-sn", "uac", f"127.0.0.1:{stack.transport.port}", "-i", "127.0.0.1",
            "-t", MODES[transport], "-m", "3", "-r", "30", "-d", "100"]  # fmt: skip
    result = await run_sipp(args, tmp_path, timeout=15)
    assert result.returncode == 0, result.stdout[-1000:] + result.stderr[-1000:]
    assert len(stack.incoming) == 3
    for dialog in stack.incoming:  # each got its ACK, and SIPp's BYE ended it
        assert dialog.acked.is_set() and dialog.state is DialogState.TERMINATED
    assert len(stack.table) == 0 and stack.stray_acks == 0
