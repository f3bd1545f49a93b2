"""Transactions against SIPp: our UAS under SIPp's uac, our UAC against SIPp's uas, with loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.sip.auth_client import with_credentials
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipRequest, SipResponse
from sipline.sip.transaction import ServerTransaction, TimerConfig, TransactionLayer, new_branch, new_tag
from sipline.sip.transport import Flow, SipTransportLayer
from tests.conftest import HeldPort
from tests.sip.conftest import SCENARIOS, SIPP, need, run_sipp, sipp_listening, start_sipp, stop_sipp

pytestmark = pytest.mark.interop

SDP = b"v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


class AnsweringUas:
    """A tiny UAS core: 180 then 200 to INVITE, 200 to BYE."""

    def __init__(self) -> None:
        self.layer: TransactionLayer | None = None
        self.invites = 0
        self.byes = 0
        self.acks = 0

    def on_request(self, tx: ServerTransaction) -> None:
        if tx.method == "INVITE":
            self.invites += 1
            tx.reply(180)
            host, port = tx.flow.local_addr
            tx.reply(
                200,
                headers=[("Contact", f"<sip:uas@{host}:{port}>"), ("Content-Type", "application/sdp")],
                body=SDP,
            )
        elif tx.method == "BYE":
            self.byes += 1
            tx.reply(200)
        else:
            tx.reply(405)

    def on_ack(self, ack: SipRequest, flow: Flow) -> None:
        self.acks += 1


async def start_stack(tu: AnsweringUas | None = None) -> tuple[SipTransportLayer, TransactionLayer]:
    holder: list[TransactionLayer] = []
    transport = SipTransportLayer("127.0.0.1", 0, lambda m, f: holder[0].receive(m, f))
    tu = tu or AnsweringUas()
    layer = TransactionLayer(transport, tu.on_request, on_ack=tu.on_ack, timers=TimerConfig(t1=0.25, t4=1.0))
    holder.append(layer)
    tu.layer = layer
    await transport.start()
    return transport, layer


@pytest.fixture
async def uas() -> AsyncIterator[tuple[SipTransportLayer, AnsweringUas]]:
    need(SIPP)
    tu = AnsweringUas()
    transport, layer = await start_stack(tu)
    yield transport, tu
    layer.close()
    await transport.stop()


@pytest.mark.parametrize("mode", ["u1", "t1"])
async def test_sipp_uac_calls_complete(
    uas: tuple[SipTransportLayer, AnsweringUas], tmp_path: Path, mode: str
) -> None:
    transport, tu = uas
    result = await run_sipp(
        [
            "-sn",
            "uac",
            f"127.0.0.1:{transport.port}",
            "-i",
            "127.0.0.1",
            "-t",
            mode,
            "-m",
            "20",
            "-r",
            "50",
            "-d",
            "50",
        ],
        tmp_path,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert tu.invites == 20 and tu.byes == 20 and tu.acks >= 20


@pytest.mark.slow
async def test_sipp_uac_with_packet_loss(uas: tuple[SipTransportLayer, AnsweringUas], tmp_path: Path) -> None:
    transport, tu = uas
    result = await run_sipp(
        [
            "-sn",
            "uac",
            f"127.0.0.1:{transport.port}",
            "-i",
            "127.0.0.1",
            "-m",
            "30",
            "-r",
            "30",
            "-l",
            "30",
            "-d",
            "50",
            "-lost",
            "10",
        ],
        tmp_path,
        timeout=40,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # SIPp counts a call whose BYE it "lost" itself as successful, so only INVITEs are exact
    assert tu.invites == 30 and tu.byes >= 25
    assert "Retrans" in result.stdout


async def place_call(layer: TransactionLayer, flow: Flow, target: str) -> tuple[int, int]:
    """INVITE, ACK the 2xx, BYE; returns (INVITE status, BYE status)."""
    host, port = flow.local_addr
    call_id, tag = new_tag() + "@127.0.0.1", new_tag()
    invite = SipRequest(
        "INVITE",
        target,
        [
            ("Max-Forwards", "70"),
            ("From", f"<sip:caller@{host}:{port}>;tag={tag}"),
            ("To", f"<{target}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:caller@{host}:{port}>"),
            ("Content-Type", "application/sdp"),
        ],
        SDP,
    )
    provisional: list[SipResponse] = []
    tx = layer.send_request(invite, flow, on_provisional=provisional.append)
    answer = await tx.final_response()
    if answer.status != 200:
        return answer.status, 0
    remote_target = str(answer.contacts[0].uri) if answer.contacts else target
    to_value = answer.header("To") or ""
    common = [
        ("Max-Forwards", "70"),
        ("From", f"<sip:caller@{host}:{port}>;tag={tag}"),
        ("To", to_value),
        ("Call-ID", call_id),
    ]
    ack = SipRequest(
        "ACK",
        remote_target,
        [
            ("Via", f"SIP/2.0/{flow.transport.upper()} {host}:{port};branch={new_branch()};rport"),
            *common,
            ("CSeq", "1 ACK"),
        ],
    )
    tx.send_ack(ack)
    await asyncio.sleep(0.05)
    bye = SipRequest("BYE", remote_target, [*common, ("CSeq", "2 BYE")])
    bye_answer = await layer.send_request(bye, flow).final_response()
    return answer.status, bye_answer.status


@pytest.mark.parametrize("transport_name", ["udp", "tcp"])
async def test_our_uac_against_sipp_uas(tmp_path: Path, transport_name: str) -> None:
    need(SIPP)
    transport, layer = await start_stack()
    held = HeldPort()
    sipp_port = held.port
    calls = 12
    mode = "u1" if transport_name == "udp" else "t1"
    scenario = str(SCENARIOS / "uas_short.xml")  # SIPp's uas with a 1.5 s (not 4 s) final wait
    args = ["-sf", scenario, "-i", "127.0.0.1", "-p", str(sipp_port), "-m", str(calls), "-t", mode]
    sipp = asyncio.create_task(run_sipp(args, tmp_path, timeout=40, held=held))
    try:
        await sipp_listening(held)
        flow = await transport.flow_to(transport_name, ("127.0.0.1", sipp_port))
        target = f"sip:service@127.0.0.1:{sipp_port}"
        results = await asyncio.gather(*(place_call(layer, flow, target) for _ in range(calls)))
        assert results == [(200, 200)] * calls
        result = await sipp
        assert result.returncode == 0, result.stdout[-2000:]
    finally:
        if not sipp.done():
            sipp.cancel()
        layer.close()
        await transport.stop()


@pytest.mark.slow
async def test_our_uac_against_sipp_uas_with_packet_loss(tmp_path: Path) -> None:
    """SIPp drops 10% of its 180s, our ACKs, our BYEs and its 200s to BYE: our BYE
    retransmissions (timer E) and re-ACKing of retransmitted 2xx recover every call.

    SIPp runs open-ended and is killed once our calls are done (its call count is not the
    measure here: what our side saw is).
    """
    need(SIPP)
    transport, layer = await start_stack()
    held = HeldPort()
    sipp_port = held.port
    calls = 12
    scenario = str(SCENARIOS / "uas_lossy.xml")
    sipp = await start_sipp(["-sf", scenario, "-i", "127.0.0.1", "-p", str(sipp_port)], tmp_path, held)
    try:
        flow = await transport.flow_to("udp", ("127.0.0.1", sipp_port))
        target = f"sip:service@127.0.0.1:{sipp_port}"
        results = await asyncio.gather(*(place_call(layer, flow, target) for _ in range(calls)))
        assert results == [(200, 200)] * calls
    finally:
        await stop_sipp(sipp)
        layer.close()
        await transport.stop()


@pytest.mark.parametrize(("password", "expected"), [("trunkpass", 200), ("wrong", 403)])
async def test_uac_answers_carrier_challenge(tmp_path: Path, password: str, expected: int) -> None:
    """Our client side of digest against SIPp's verifyauth (the carrier trunk case)."""
    need(SIPP)
    transport, layer = await start_stack()
    held = HeldPort()
    sipp_port = held.port
    args = ["-sf", str(SCENARIOS / "carrier_auth_uas.xml"), "-i", "127.0.0.1", "-p", str(sipp_port),
            "-m", "1"]  # fmt: skip
    sipp = asyncio.create_task(run_sipp(args, tmp_path, timeout=20, held=held))
    try:
        await sipp_listening(held)
        flow = await transport.flow_to("udp", ("127.0.0.1", sipp_port))
        host, port = flow.local_addr
        target = f"sip:+15551230000@127.0.0.1:{sipp_port}"
        tag = new_tag()
        invite = SipRequest("INVITE", target, [
            ("Max-Forwards", "70"), ("From", f"<sip:trunkuser@{host}:{port}>;tag={tag}"),
            ("To", f"<{target}>"), ("Call-ID", new_tag()), ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:trunkuser@{host}:{port}>"),
            ("Content-Type", "application/sdp"),
        ], SDP)  # fmt: skip
        challenged = await layer.send_request(invite, flow).final_response()
        assert challenged.status == 401
        retry = with_credentials(invite, challenged, DigestClient("trunkuser", password))
        tx = layer.send_request(retry, flow)
        answer = await tx.final_response()
        assert answer.status == expected
        if expected == 200:
            common = [("Max-Forwards", "70"), ("From", f"<sip:trunkuser@{host}:{port}>;tag={tag}"),
                      ("To", answer.header("To") or ""), ("Call-ID", invite.call_id)]  # fmt: skip
            remote = str(answer.contacts[0].uri)
            tx.send_ack(SipRequest("ACK", remote, [
                ("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"), *common, ("CSeq", "2 ACK"),
            ]))  # fmt: skip
            bye = await layer.send_request(
                SipRequest("BYE", remote, [*common, ("CSeq", "3 BYE")]), flow
            ).final_response()
            assert bye.status == 200
        result = await sipp
        assert result.returncode == 0, result.stdout[-1500:]  # SIPp ran its scenario to the end
    finally:
        if not sipp.done():
            sipp.cancel()
        layer.close()
        await transport.stop()
