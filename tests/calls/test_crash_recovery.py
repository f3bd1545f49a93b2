"""A node that dies mid-call (no hang-up, no settlement) and starts again on the same database and
SIP port: both legs get BYE from the stored dialogs, and the record is charged up to the call's last
known activity. In-process with real SIP: a virtual phone and the sandbox carrier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform, build_platform
from sipline.calls.observer import CALLEE_LEG, PHONE_LEG
from sipline.domain import calls
from sipline.sip.dialog import DialogState
from sipline.sip.sdp import SDP
from sipline.store.models import Account, CallDialog, CallRecord, LedgerEntry
from tests.calls.conftest import PhoneFactory, finished, record_of
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, make_settings

HEARTBEAT = 0.2


async def stored(platform: Platform, voice_id: str) -> tuple[CallRecord, dict[str, CallDialog]]:
    async with platform.sessions() as session:
        record = await session.scalar(select(CallRecord).where(CallRecord.voice_id == voice_id))
        rows = (await session.scalars(select(CallDialog).where(CallDialog.voice_id == voice_id))).all()
    assert record is not None
    return record, {row.leg: row for row in rows}


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def crash(platform: Platform) -> None:
    """What SIGKILL leaves: committed writes stay, nothing is hung up or settled, the port is freed."""
    await platform.calls.writer.drain()
    for active in list(platform.calls.active.values()):
        assert active.task is not None
        active.task.cancel()  # ClickToCall.run() ends without telling its journal
        await asyncio.gather(active.task, return_exceptions=True)
    platform.calls.active.clear()
    await platform.sip.stop()


@pytest.fixture
async def restarted_on(tmp_path: Path, database_url: str) -> AsyncIterator[list[Platform]]:
    """Platforms started again on the same data (the test builds them); closed at the end."""
    made: list[Platform] = []
    yield made
    for platform in made:
        await platform.calls.shutdown()
        await platform.sip.stop()
        await platform.close()


async def test_a_crashed_call_is_hung_up_and_charged_up_to_its_last_activity(
    live: Platform,
    api: Api,
    restarted_on: list[Platform],  # before phone_of: the phone unregisters from the restarted node
    phone_of: PhoneFactory,
    tmp_path: Path,
    database_url: str,
) -> None:
    assert live.sandbox is not None
    carrier_dialogs = live.sandbox.agent.sip.dialogs
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]  # the sandbox talks until hung up
    heartbeat = asyncio.create_task(live.calls.heartbeat(HEARTBEAT))

    async def dialogs_stored() -> bool:
        return len((await stored(live, voice_id))[1]) == 2

    await until(dialogs_stored)
    row, legs = await stored(live, voice_id)
    phone_dialog = phone.calls[0]
    # each leg's dialog as the peer knows it, seen from our side
    assert legs[PHONE_LEG].call_id == phone_dialog.call_id
    assert legs[PHONE_LEG].remote_uri.endswith(f"tag={phone_dialog.local.tag}")
    assert legs[PHONE_LEG].local_uri.endswith(f"tag={phone_dialog.remote.tag}")
    assert legs[PHONE_LEG].remote_target == str(phone_dialog.local_contact).strip("<>")
    assert (legs[PHONE_LEG].remote_host, legs[PHONE_LEG].remote_port) == phone.agent.sip.transport.local_addr
    carrier_leg = next(iter(carrier_dialogs.dialogs.values()))
    assert legs[CALLEE_LEG].call_id == carrier_leg.call_id and legs[CALLEE_LEG].local_cseq == 1
    assert legs[CALLEE_LEG].transport == "udp"

    # a relayed re-INVITE (hold) moves the callee leg's CSeq, and the store follows
    await asyncio.sleep(0.2)  # the ACK with the callee's answer reaches the phone
    hold = phone_dialog.local_body.replace(b"a=sendrecv", b"a=sendonly")
    assert (await phone_dialog.request("INVITE", body=hold, content_type=SDP)).status == 200

    async def cseq_moved() -> bool:
        return (await stored(live, voice_id))[1][CALLEE_LEG].local_cseq == 2

    await until(cseq_moved)

    # the heartbeat keeps the last activity moving while the call is up
    async def talked_a_while() -> bool:
        row = (await stored(live, voice_id))[0]
        answer, last = row.answer_time, row.last_activity
        return answer is not None and last is not None and (last - answer).total_seconds() >= 1.5

    await until(talked_a_while)
    heartbeat.cancel()
    await crash(live)
    row, _legs = await stored(live, voice_id)
    assert row.hangup_time is None and row.last_activity is not None and row.answer_time is not None
    last_activity, answer_time = row.last_activity, row.answer_time
    assert phone_dialog.state is DialogState.CONFIRMED and len(carrier_dialogs) == 1  # still in the call

    settings = make_settings(tmp_path, database_url, sip_port=live.sip.port)
    again = await build_platform(settings)
    restarted_on.append(again)
    await again.sip.start()
    assert await again.calls.close_interrupted() == 1
    assert again.calls.recovery is not None
    assert await asyncio.wait_for(again.calls.recovery, 10) == 2  # both BYEs answered 200
    assert phone_dialog.state is DialogState.TERMINATED  # the phone got its BYE
    assert len(carrier_dialogs) == 0  # and so did the carrier

    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.INTERRUPTED
    closed, _legs = await stored(again, voice_id)
    assert closed.hangup_time == last_activity  # the API shows it to the second
    assert datetime.fromisoformat(done["hangupTime"]) == last_activity.replace(microsecond=0)
    duration = int((last_activity - answer_time).total_seconds())
    assert done["callDuration"] == duration >= 1
    assert done["chargedDuration"] == 60 and done["cost"] == "0.01" and done["baseCost"] == "0.01"
    async with again.sessions() as session:
        ledger = (await session.scalars(select(LedgerEntry).where(LedgerEntry.reference == voice_id))).all()
        balance = await session.scalar(select(Account.balance).where(Account.id == row.account_id))
        left = (await session.scalars(select(CallDialog).where(CallDialog.voice_id == voice_id))).all()
    assert [(entry.kind, entry.amount) for entry in ledger] == [
        ("reserve", Decimal("-0.01")),
        ("release", Decimal("0.01")),
        ("call", Decimal("-0.01")),
    ]
    assert balance == Decimal("99.99") == ledger[-1].balance_after
    assert left == []  # settled: nothing left to hang up at the next start
    assert await again.calls.close_interrupted() == 0 and again.calls.recovery.done()


async def test_a_call_ended_normally_leaves_no_dialog_to_hang_up(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9001"))["data"]  # the sandbox hangs up after 1 s
    done = await finished(api, voice_id)
    assert done["terminationReason"] == calls.CALLEE_HUNG_UP
    row, legs = await stored(live, voice_id)
    assert legs == {}
    assert row.last_activity is not None and row.answer_time is not None
    assert row.hangup_time is not None and row.answer_time <= row.last_activity <= row.hangup_time
    assert (await record_of(api, voice_id))["callDuration"] == 1
