"""Calls dialled on a handset, end to end on 127.0.0.1: baresip phones registered to `sipline serve` dial
through ctrl_tcp's `dial`; SIPp is the carrier. Records against the SIP messages exchanged, the
recording decoded by mpg123 (not by anything of ours), phone to phone with audio both ways."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from sipline.client import CallRecord
from sipline.domain import calls
from sipline.sip.invite_auth import FROM_NOT_AUTHENTICATED, NOT_REGISTERED_HERE
from tests.conftest import ADMIN_TOKEN, HeldPort
from tests.e2e.audio import blocks, tone_share, write_tone
from tests.e2e.media_peers import CARRIER_DIGITS, carrier_trace, heard_the_carrier, media_carrier
from tests.e2e.stun import fake_nat
from tests.e2e.test_media import MediaDesk, _check_channels, _download, media_desk
from tests.e2e.test_registration import phone_state
from tests.media.recording.audio import decode_mp3
from tests.sip.baresip import Baresip, wait_for
from tests.sip.conftest import SippResult, sipp_messages, sipp_time

pytestmark = [pytest.mark.interop, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

DIALLED = "+442079460000"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
CALLER_TONE, COLLEAGUE_TONE = 1000.0, 600.0  # Hz: each phone's microphone in phone-to-phone calls
RING_TIMEOUT = 20  # callee_ring_timeout's least (20-120 s): the no-answer test waits it out
QUIET_CARRIER = 6  # seconds a carrier listens in the refusal tests, to show no INVITE reached it


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MediaDesk]:
    home = tmp_path_factory.mktemp("handset")
    ring = {"SIPLINE_CALLEE_RING_TIMEOUT": str(RING_TIMEOUT)}
    async with media_desk(home, 13, **ring) as made:  # a phone per test (and per role in a test)
        yield made


@pytest.fixture
def carrier_port(desk: MediaDesk) -> HeldPort:
    if desk.held_carrier_port.released:
        desk.held_carrier_port.hold()
    return desk.held_carrier_port


async def baresip_phone(
    desk: MediaDesk,
    index: int,
    workdir: Path,
    *,
    tone: float = CALLER_TONE,
    params: str = "",
    password: str = "",
    auth_user: str = "",
    host: str = "127.0.0.1",
) -> Baresip:
    """Phone ``index`` as baresip on ``host``, its microphone a tone; registered unless ``regint=0`` is
    in ``params``; ``auth_user`` and ``password`` answer challenges with other credentials."""
    made = desk.phones[index]
    workdir.mkdir(parents=True, exist_ok=True)
    credentials = (f"auth_user={auth_user};" if auth_user else "") + f"auth_pass={password or made.password}"
    phone = Baresip(
        workdir,
        f"<sip:{made.account}@127.0.0.1:{desk.served.sip_port}{params.partition('|')[0]}>;"
        f"{credentials};answermode=auto;{params.partition('|')[2] or 'regint=300'}",
        microphone=write_tone(workdir / "tone.wav", tone, 120),
        host=host,
    )
    await phone.start()
    if "regint=0" not in params:

        async def registered() -> bool:
            return bool((await phone_state(desk.client, desk.app_id, made.account)).extra["registered"])

        assert await wait_for(registered, 10), phone.log()
    return phone


async def operator(desk: MediaDesk, method: str, what: str, body: dict[str, object]) -> httpx.Response:
    """The admin API on the account's limits or balance (the change applies at once on this node)."""
    url = f"{desk.served.base_url}/admin/accounts/{desk.client._api_key}/{what}"
    async with httpx.AsyncClient(timeout=10) as web:
        return await web.request(method, url, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


def records_of(desk: MediaDesk, account: str) -> list[str]:
    """The voiceIds of the phone's calls, oldest first (read from the platform's SQLite file)."""
    path = desk.served.env["SIPLINE_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT voice_id FROM call_records WHERE phone_account = ? ORDER BY id", (account,)
        ).fetchall()
    return [row[0] for row in rows]


async def the_call(desk: MediaDesk, account: str, timeout: float = 40) -> CallRecord:
    """The phone's one call, once ended."""

    async def placed() -> bool:
        return bool(records_of(desk, account))

    assert await wait_for(placed, 15), desk.served.log.read_text()[-3000:]
    (voice_id,) = records_of(desk, account)
    return await desk.record(voice_id, timeout=timeout)


def near(shown: str | None, moment: datetime) -> bool:
    """A record's time (whole seconds, UTC) is the SIP message's (SIPp's local clock), within a second."""
    assert shown is not None
    return abs(datetime.fromisoformat(shown) - moment.astimezone()) <= timedelta(seconds=1)


async def recording(desk: MediaDesk, record: CallRecord, tmp_path: Path) -> Path:
    assert record.recording_file_id is not None
    url = await desk.recording(record.recording_file_id)
    async with httpx.AsyncClient(timeout=30) as web:
        return await _download(web, url, tmp_path)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_dialled_on_baresip_answered_talked_recorded_with_the_digits(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path, transport: str
) -> None:
    index = 0 if transport == "udp" else 12  # the whole flow from a phone registered over either
    made = desk.phones[index]
    carrier = await media_carrier(carrier_port, tmp_path, 0.5)  # talks 9.2 s, presses 1 2 3, hangs up
    suffix = "" if transport == "udp" else ";transport=tcp"
    phone = await baresip_phone(desk, index, tmp_path / "phone", params=suffix)
    try:
        await phone.command("dial", DIALLED)
        record = await the_call(desk, made.account)
        verdict = await carrier
    finally:
        await phone.kill()
    assert verdict.returncode == 0, verdict.stdout[-2000:] + verdict.stderr[-2000:]
    assert record.call_origin == "handset" and record.callee == DIALLED[1:]
    assert record.display_num == made.display_num and record.phone_name == made.phone_name
    assert record.termination_code == "200" and record.termination_reason == calls.CALLEE_HUNG_UP
    assert record.feedback_value == CARRIER_DIGITS
    sipp = sipp_messages(carrier_trace(tmp_path))
    assert near(record.call_time, sipp_time(sipp, sent=False, starts="INVITE "))
    assert near(record.ringing_time, sipp_time(sipp, sent=True, starts="SIP/2.0 180"))
    assert near(record.answer_time, sipp_time(sipp, sent=True, starts="SIP/2.0 200"))
    assert near(record.hangup_time, sipp_time(sipp, sent=True, starts="BYE "))
    assert record.cost == "0.01" and record.bill_period == "60+60"
    decoded = decode_mp3(await recording(desk, record, tmp_path))
    assert abs(decoded.duration - record.call_duration) <= 1
    _check_channels(decoded)  # the phone's tone left, the carrier's speech right
    assert heard_the_carrier(phone)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_busy_callee_is_relayed_to_the_phone(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path, transport: str
) -> None:
    index = 1 if transport == "udp" else 2
    made = desk.phones[index]
    carrier = await desk.carrier(SCENARIOS / "carrier_busy.xml", tmp_path)
    suffix = "" if transport == "udp" else ";transport=tcp"
    phone = await baresip_phone(desk, index, tmp_path / "phone", params=suffix)
    try:
        await phone.command("dial", DIALLED)
        record = await the_call(desk, made.account)
        assert await wait_for(_said(phone, "486 Busy Here"), 5), phone.log()
    finally:
        await phone.kill()
    assert (await carrier).returncode == 0
    assert record.termination_code == "486" and record.answer_time is None and record.cost == "0"
    sipp = sipp_messages(desk.carrier_messages(tmp_path))
    assert near(record.hangup_time, sipp_time(sipp, sent=True, starts="SIP/2.0 486"))


async def test_the_phone_hanging_up_while_it_rings_cancels_the_callee(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    made = desk.phones[5]
    carrier = await desk.carrier(SCENARIOS / "carrier_no_answer.xml", tmp_path)  # rings until CANCEL
    phone = await baresip_phone(desk, 5, tmp_path / "phone")
    try:
        await phone.command("dial", DIALLED)
        assert await wait_for(_said(phone, "Call in-progress"), 10) or await wait_for(
            _said(phone, "ringing"), 5
        ), phone.log()
        await asyncio.sleep(1)
        await phone.command("hangup")
        verdict = await carrier
        record = await the_call(desk, made.account)
    finally:
        await phone.kill()
    assert verdict.returncode == 0, verdict.stdout[-2000:]  # the carrier got the CANCEL
    assert record.termination_code == "487" and calls.PHONE_HUNG_UP in (record.termination_reason or "")
    sipp = sipp_messages(desk.carrier_messages(tmp_path))
    assert near(record.ringing_time, sipp_time(sipp, sent=True, starts="SIP/2.0 180"))
    assert near(record.hangup_time, sipp_time(sipp, sent=False, starts="CANCEL "))


async def test_a_callee_that_never_answers_is_cancelled_at_the_ring_timeout(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    """The module's one wait of a whole ring timeout (callee_ring_timeout at its least, 20 s)."""
    made = desk.phones[7]
    carrier = await desk.carrier(SCENARIOS / "carrier_no_answer.xml", tmp_path, timeout=RING_TIMEOUT + 30)
    phone = await baresip_phone(desk, 7, tmp_path / "phone")
    try:
        await phone.command("dial", DIALLED)
        verdict = await carrier  # rang until CANCELled, answered 487, got its ACK
        told = f"480 Temporarily Unavailable ({calls.CALLEE_NO_ANSWER})"  # docs/operations.md's table
        assert await wait_for(_said(phone, told), 5), phone.log()
        record = await the_call(desk, made.account)
    finally:
        await phone.kill()
    assert verdict.returncode == 0, verdict.stdout[-2000:] + verdict.stderr[-2000:]
    assert record.call_origin == "handset" and record.termination_code == "487"
    assert record.termination_reason == f"Request Terminated ({calls.CALLEE_NO_ANSWER})"  # docs/api.md
    assert record.answer_time is None and record.call_duration == 0 and record.charged_duration == 0
    assert record.cost == "0"
    sipp = sipp_messages(desk.carrier_messages(tmp_path))
    invited = sipp_time(sipp, sent=False, starts="INVITE ")
    cancelled = sipp_time(sipp, sent=False, starts="CANCEL ")
    # the platform times the ring from sending its INVITE (monotonic clock); SIPp stamps each receipt
    # (wall clock), so a later-stamped INVITE may make the span a few microseconds short (seen: 65 us)
    assert RING_TIMEOUT - 0.01 <= (cancelled - invited).total_seconds() <= RING_TIMEOUT + 1.5
    assert near(record.call_time, invited)
    assert near(record.ringing_time, sipp_time(sipp, sent=True, starts="SIP/2.0 180"))
    assert near(record.hangup_time, cancelled)


async def test_the_right_password_from_an_unregistered_source_dials_nothing(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    """The phone is registered from 127.0.0.1; its password from 127.0.0.2 reaches neither the trunk
    nor the colleague it dials."""
    made, colleague = desk.phones[8], desk.phones[9]
    owner = await baresip_phone(desk, 8, tmp_path / "owner")
    other = await baresip_phone(desk, 9, tmp_path / "colleague")
    stranger = await baresip_phone(desk, 8, tmp_path / "stranger", params="|regint=0", host="127.0.0.2")
    try:
        carrier = await desk.carrier(SCENARIOS / "carrier_busy.xml", tmp_path, timeout=QUIET_CARRIER)
        await stranger.command("dial", DIALLED)
        assert await wait_for(_said(stranger, NOT_REGISTERED_HERE), 10), stranger.log()
        await asyncio.sleep(0.5)  # the first call's lines all logged
        refusals = stranger.full_log().count(NOT_REGISTERED_HERE)
        await stranger.command("dial", colleague.account)
        assert await wait_for(_said(stranger, NOT_REGISTERED_HERE, refusals + 1), 10), stranger.log()
        await _saw_no_invite(desk, carrier, tmp_path)
    finally:
        for phone in (stranger, other, owner):
            await phone.kill()
    assert "Incoming call" not in other.full_log() + owner.full_log()  # no phone rang
    assert records_of(desk, made.account) == [] and records_of(desk, colleague.account) == []


async def test_a_from_claiming_another_phone_dials_nothing(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    """A registered phone's own credentials under a From naming another phone of the app: 403."""
    claimed, own = desk.phones[10], desk.phones[11]
    registered = await baresip_phone(desk, 11, tmp_path / "own")
    spoofer = await baresip_phone(
        desk, 10, tmp_path / "spoofer", params="|regint=0", auth_user=own.account, password=own.password
    )
    try:
        carrier = await desk.carrier(SCENARIOS / "carrier_busy.xml", tmp_path, timeout=QUIET_CARRIER)
        await spoofer.command("dial", DIALLED)
        assert await wait_for(_said(spoofer, FROM_NOT_AUTHENTICATED), 10), spoofer.log()
        await _saw_no_invite(desk, carrier, tmp_path)
    finally:
        await spoofer.kill()
        await registered.kill()
    assert records_of(desk, claimed.account) == [] and records_of(desk, own.account) == []


async def test_a_wrong_password_dials_nothing(desk: MediaDesk, tmp_path: Path) -> None:
    made = desk.phones[3]
    phone = await baresip_phone(desk, 3, tmp_path / "phone", params="|regint=0", password="wrong")
    try:
        await phone.command("dial", DIALLED)
        assert await wait_for(_said(phone, "403 Forbidden"), 10), phone.log()
    finally:
        await phone.kill()
    assert records_of(desk, made.account) == []


async def test_a_denied_prefix_and_no_balance_are_refused_with_their_reasons(
    desk: MediaDesk, tmp_path: Path
) -> None:
    made = desk.phones[6]
    phone = await baresip_phone(desk, 6, tmp_path / "phone")
    try:
        assert (await operator(desk, "PUT", "limits", {"deny": ["4420"]})).status_code == 200
        await phone.command("dial", DIALLED)
        assert await wait_for(_said(phone, "calls to prefix 4420 are denied"), 10), phone.log()
        assert (await operator(desk, "PUT", "limits", {})).status_code == 200  # no limits again
        balance = (await desk.client.get_balance()).balance
        emptied = await operator(desk, "POST", "adjust", {"amount": str(-balance), "reason": "e2e"})
        assert emptied.json()["status"] == "0", emptied.text
        await phone.command("dial", DIALLED)
        assert await wait_for(_said(phone, "402 Payment Required"), 10), phone.log()
    finally:
        await operator(desk, "POST", "adjust", {"amount": "10", "reason": "e2e: restored"})
        await phone.kill()
    assert records_of(desk, made.account) == []  # nothing was placed


async def test_phone_to_phone_behind_nat_audio_both_ways(desk: MediaDesk, tmp_path: Path) -> None:
    caller, colleague = desk.phones[3], desk.phones[4]
    async with fake_nat() as (nat, stun_port):
        stun = f"|medianat=stun;stunserver=stun:127.0.0.1:{stun_port};regint=300"
        near_end = await baresip_phone(desk, 3, tmp_path / "caller", tone=CALLER_TONE)
        far_end = await baresip_phone(desk, 4, tmp_path / "colleague", tone=COLLEAGUE_TONE, params=stun)
        try:
            await near_end.command("dial", colleague.account)
            assert await wait_for(_said(far_end, "Call established"), 10), far_end.log()
            await asyncio.sleep(4)
            await near_end.command("hangup")
            record = await the_call(desk, caller.account)
        finally:
            await near_end.kill()
            await far_end.kill()
    assert nat.mapped
    assert record.call_origin == "phone_to_phone" and record.callee == colleague.account
    assert record.code == "on-net" and record.cost == "0"
    assert record.termination_code == "200" and record.termination_reason == calls.PHONE_HUNG_UP
    decoded = decode_mp3(await recording(desk, record, tmp_path))
    rate = decoded.sample_rate
    left, right = blocks(decoded.left, rate, 1.0)[1:-1], blocks(decoded.right, rate, 1.0)[1:-1]
    assert left and right
    assert all(tone_share(block, rate, CALLER_TONE) > 0.8 for block in left)  # the caller, left
    assert all(tone_share(block, rate, COLLEAGUE_TONE) > 0.8 for block in right)  # the colleague, right


def _said(phone: Baresip, text: str, times: int = 1) -> Callable[[], Awaitable[bool]]:
    """Whether baresip's log shows ``text`` yet (``times`` times)."""

    async def check() -> bool:
        return phone.full_log().count(text) >= times

    return check


async def _saw_no_invite(desk: MediaDesk, carrier: asyncio.Task[SippResult], tmp_path: Path) -> None:
    """The carrier listened its QUIET_CARRIER seconds and was sent no INVITE."""
    await carrier
    trace = desk.carrier_messages(tmp_path)
    received = sipp_messages(trace) if trace.exists() else []
    assert not [m for m in received if m.first_line.startswith("INVITE ")], received
