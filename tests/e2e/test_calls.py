"""Click-to-call end to end: `sipline serve`, baresip as the agent's phone, SIPp as the carrier, the SDK as
the CRM. Each record is checked against what the SIP peers did (SIPp's scenario checks our INVITE)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from sipline.client import AsyncClient, CallRecord
from sipline.domain import calls
from sipline.store.database import create_engine
from sipline.store.models import Account, LedgerEntry
from tests.conftest import HeldPort
from tests.e2e.conftest import Served
from tests.e2e.test_registration import phone_state, provision
from tests.sip.baresip import Baresip, wait_for
from tests.sip.conftest import (
    BARESIP,
    SCENARIOS,
    SIPP,
    SippResult,
    need,
    run_sipp,
    sipp_listening,
    sipp_messages,
    sipp_time,
)

pytestmark = [pytest.mark.interop, pytest.mark.slow]

HERE = Path(__file__).resolve().parent / "scenarios"
CALLEE = "442079469001"
CALLER_ID = "1008122211"
HEARTBEAT = 1.0  # call_activity_interval of these tests' server, seconds


class Desk:
    """A platform with a SIPp carrier as its trunk and one baresip phone registered to it."""

    def __init__(
        self, served: Served, carrier: HeldPort, client: AsyncClient, app_id: str, account: str
    ) -> None:
        self.served = served
        self.held_carrier_port = carrier  # configured as the trunk: held until SIPp binds it
        self.carrier_port = carrier.port
        self.client = client
        self.app_id = app_id
        self.account = account
        self.phone: Baresip | None = None

    async def carrier(
        self, scenario: Path, tmp_path: Path, *extra: str, timeout: float = 40
    ) -> asyncio.Task[SippResult]:
        """SIPp answering one call with ``scenario`` (a task: await it for SIPp's verdict)."""
        args = [
            *extra,
            "-sf",
            str(scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.carrier_port),
            "-m",
            "1",
            "-trace_err",
            "-trace_msg",
            "-message_file",
            str(self.carrier_messages(tmp_path)),
        ]
        task = asyncio.create_task(run_sipp(args, cwd=tmp_path, timeout=timeout, held=self.held_carrier_port))
        await sipp_listening(self.held_carrier_port)
        return task

    @staticmethod
    def carrier_messages(tmp_path: Path) -> Path:
        """SIPp's log of the carrier's messages, each with SIPp's time of sending or receiving it."""
        return tmp_path / "carrier-messages.log"

    async def call(self, callee: str = CALLEE) -> str:
        return await self.client.send_sip(self.app_id, self.account, callee, CALLER_ID, "e2e")

    async def answered(self, voice_id: str, timeout: float = 10) -> None:
        """Return once the call's record shows the callee's answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (await self.client.record_sip(voice_id)).answer_time is None:
            assert loop.time() < deadline, self.served.log.read_text()[-3000:]
            await asyncio.sleep(0.1)

    async def record(self, voice_id: str, timeout: float = 30) -> CallRecord:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (record := await self.client.record_sip(voice_id)).hangup_time is None:
            assert loop.time() < deadline, self.served.log.read_text()[-3000:]
            await asyncio.sleep(0.2)
        return record


@asynccontextmanager
async def desk_running(
    tmp_path: Path,
    database_url: str,
    answermode: str = "auto",
    trunk_login: str = "",
    trunk_params: str = "",
    phone_transport: str = "udp",
    callee_ring_timeout: int = 20,  # the least it may be
) -> AsyncIterator[Desk]:
    """`sipline serve` routed to a SIPp carrier port, a phone made through the API, baresip registered."""
    need(SIPP)
    need(BARESIP)
    served = Served(tmp_path, database_url)
    carrier = HeldPort()
    carrier_port = carrier.port
    served.env |= {
        "SIPLINE_TRUNKS": f'{{"carrier": "sip:{trunk_login}127.0.0.1:{carrier_port}{trunk_params}"}}',
        "SIPLINE_DEFAULT_TRUNK": "carrier",
        "SIPLINE_PHONE_RING_TIMEOUT": "3",
        "SIPLINE_CALLEE_RING_TIMEOUT": str(callee_ring_timeout),
        "SIPLINE_CALL_ACTIVITY_INTERVAL": str(HEARTBEAT),
    }
    served.start()
    client, app_id, phones = await provision(served, 1, balance="10")
    desk = Desk(served, carrier, client, app_id, phones[0].account)
    try:
        desk.phone = Baresip(
            tmp_path / "baresip",
            f"<sip:{phones[0].account}@127.0.0.1:{served.sip_port}{_transport_param(phone_transport)}>;"
            f"auth_pass={phones[0].password};"
            f"answermode={answermode};regint=300",
        )
        await desk.phone.start()

        async def registered() -> bool:
            return bool((await phone_state(client, app_id, desk.account)).extra["registered"])

        assert await wait_for(registered, 10), desk.phone.log()
        yield desk
    finally:
        if desk.phone is not None:
            await desk.phone.kill()
        await client.aclose()
        served.stop()
        carrier.release()  # when the test started no carrier


@pytest.fixture
async def desk(tmp_path: Path, database_url: str) -> AsyncIterator[Desk]:
    async with desk_running(tmp_path, database_url) as made:
        yield made


def _transport_param(transport: str) -> str:
    return "" if transport == "udp" else f";transport={transport}"


def _phone_hung_up(phone: Baresip) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return "session closed: connection reset by peer" in phone.log().lower()  # baresip's word for a BYE

    return check


_TRACE_BLOCK = re.compile(
    r"^-{10,} (\S+ \S+)\n(?:UDP|TCP) message (sent|received)[^\n]*\n\n(\S+)( \S+)?", re.M
)


def _trace(path: Path) -> list[tuple[datetime, str, str]]:
    """SIPp's message trace: (time, "sent"/"received", method or status code) per message."""
    text = path.read_text(errors="replace") if path.exists() else ""
    found = []
    for when, direction, first, second in _TRACE_BLOCK.findall(text):
        kind = second.strip() if first.startswith("SIP/2.0") else first
        found.append((datetime.fromisoformat(when).astimezone(UTC), direction, kind))
    return found


def _first(path: Path, direction: str) -> dict[str, datetime]:
    """When SIPp first sent (or received) each method or status code."""
    first: dict[str, datetime] = {}
    for when, way, kind in _trace(path):
        if way == direction:
            first.setdefault(kind, when)
    return first


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def test_answered_call_then_the_callee_hangs_up(desk: Desk, tmp_path: Path) -> None:
    carrier = await desk.carrier(HERE / "carrier_answer.xml", tmp_path)
    voice_id = await desk.call()
    record = await desk.record(voice_id)
    verdict = await carrier
    assert verdict.returncode == 0, verdict.stdout[-2000:] + verdict.stderr[-2000:]
    assert record.termination_code == "200" and record.termination_reason == calls.CALLEE_HUNG_UP
    # SIPp rang 0.5 s before answering and talked 2 s before its BYE. Timed by SIPp's own messages,
    # not by the test's clock: on a loaded machine the pauses stretch, and the record must follow.
    sipp = sipp_messages(desk.carrier_messages(tmp_path))
    talk = (
        sipp_time(sipp, sent=True, starts="BYE ") - sipp_time(sipp, sent=False, starts="ACK ")
    ).total_seconds()
    assert talk >= 2
    # Whole seconds from the 200 reaching the platform (its ACK reached SIPp just after) to the BYE
    # reaching it: at least what SIPp timed, plus less than a second for the BYE's way over.
    assert int(talk) <= record.call_duration <= int(talk) + 1
    times = [
        record.submit_time,
        record.call_time,
        record.ringing_time,
        record.answer_time,
        record.hangup_time,
    ]
    assert [at(time) for time in times] == sorted(at(time) for time in times)
    assert record.charged_duration == 60 and record.cost == "0.01"
    assert record.code == "United Kingdom(London)"


async def test_busy_callee(desk: Desk, tmp_path: Path) -> None:
    carrier = await desk.carrier(HERE / "carrier_busy.xml", tmp_path)
    record = await desk.record(await desk.call())
    assert (await carrier).returncode == 0
    assert record.termination_code == "486" and record.termination_reason == "Busy Here"
    assert record.answer_time is None and record.call_duration == 0 and record.cost == "0"
    assert record.ringing_time is not None


@pytest.mark.slow
async def test_callee_does_not_answer(desk: Desk, tmp_path: Path) -> None:
    carrier = await desk.carrier(HERE / "carrier_no_answer.xml", tmp_path)
    record = await desk.record(await desk.call(), timeout=60)
    assert (await carrier).returncode == 0  # SIPp saw our CANCEL and ACKed its 487
    assert record.termination_code == "487"
    assert calls.CALLEE_NO_ANSWER in (record.termination_reason or "")
    # The platform's CANCEL came callee_ring_timeout (20 s) after its INVITE, by SIPp's own clock. At
    # most 40 s: nothing else would end this call before SIPp's 60 s wait, and a loaded machine is slow.
    sipp = sipp_messages(desk.carrier_messages(tmp_path))
    rang = sipp_time(sipp, sent=False, starts="CANCEL ") - sipp_time(sipp, sent=False, starts="INVITE ")
    assert 19.95 <= rang.total_seconds() <= 40  # 50 ms: the INVITE and the CANCEL may travel unequally
    assert at(record.call_time) <= at(record.ringing_time) <= at(record.hangup_time)


async def test_phone_hangs_up(desk: Desk, tmp_path: Path) -> None:
    assert desk.phone is not None
    carrier = await desk.carrier(HERE / "carrier_wait_bye.xml", tmp_path)
    voice_id = await desk.call()
    await desk.answered(voice_id)
    await asyncio.sleep(1.2)
    await desk.phone.command("hangup")
    record = await desk.record(voice_id)
    assert (await carrier).returncode == 0  # the carrier got our BYE
    assert record.termination_code == "200" and record.termination_reason == calls.PHONE_HUNG_UP
    assert record.call_duration >= 1


async def test_trunk_digest_challenge(tmp_path: Path, database_url: str) -> None:
    async with desk_running(tmp_path, database_url, trunk_login="trunkuser:trunkpass@") as made:
        assert made.phone is not None
        carrier = await made.carrier(SCENARIOS / "carrier_auth_uas.xml", tmp_path)
        voice_id = await made.call()
        await asyncio.sleep(2.5)
        await made.phone.command("hangup")
        record = await made.record(voice_id)
        verdict = await carrier
        assert verdict.returncode == 0, verdict.stdout[-2000:]
        assert record.termination_code == "200" and record.answer_time is not None


async def test_trunk_rewrites_the_number_and_asserts_the_caller_id(tmp_path: Path, database_url: str) -> None:
    async with desk_running(tmp_path, database_url, trunk_params=";prefix=00;strip=2;caller_id=pai") as made:
        carrier = await made.carrier(HERE / "carrier_rewritten.xml", tmp_path)
        record = await made.record(await made.call())
        verdict = await carrier
        assert verdict.returncode == 0, verdict.stdout[-2000:]  # SIPp's checks of our INVITE passed
        assert (
            record.termination_code == "486" and record.callee == CALLEE
        )  # the record keeps the number asked


async def test_phone_does_not_answer(tmp_path: Path, database_url: str) -> None:
    async with desk_running(tmp_path, database_url, answermode="manual") as made:
        record = await made.record(await made.call())
        assert record.termination_code == "487"
        assert calls.PHONE_NO_ANSWER in (record.termination_reason or "")
        assert record.call_time is None  # the callee was never called


async def test_server_restart_mid_call(tmp_path: Path, database_url: str) -> None:
    async with desk_running(tmp_path, database_url) as made:
        carrier = await made.carrier(HERE / "carrier_wait_bye.xml", tmp_path)
        voice_id = await made.call()
        await made.answered(voice_id)
        await asyncio.sleep(1.1)
        made.served.stop()  # SIGTERM: the platform hangs both legs up and settles the record
        assert (await carrier).returncode == 0
        made.served.start()
        record = await made.record(voice_id, timeout=10)
        assert record.termination_code == "200" and record.termination_reason == calls.SHUTDOWN
        assert record.call_duration >= 1 and record.cost == "0.01"


@pytest.mark.parametrize("phone_transport", ["udp", "tcp"])
async def test_server_killed_mid_call_hangs_both_legs_up_at_restart_and_charges_the_time_used(
    tmp_path: Path, database_url: str, phone_transport: str
) -> None:
    # over TCP the phone's connection dies with the server: the BYE goes over a new one to its Contact
    async with desk_running(tmp_path, database_url, phone_transport=phone_transport) as made:
        assert made.phone is not None
        trace = made.carrier_messages(tmp_path)  # -trace_msg: the carrier's messages with their times
        carrier = await made.carrier(HERE / "carrier_wait_bye.xml", tmp_path)
        voice_id = await made.call()
        await made.answered(voice_id)
        await asyncio.sleep(3.5 * HEARTBEAT)  # talk a few heartbeats
        served = made.served
        assert served.process is not None
        killed = datetime.now(UTC)
        served.process.kill()  # SIGKILL: no BYE, no settlement
        served.process.wait()
        served.process = None
        assert "BYE" not in _first(trace, "received")  # the carrier is still in the call
        served.start()  # the restarted node sends BYE on both stored dialogs

        verdict = await carrier
        assert verdict.returncode == 0, verdict.stdout[-2000:] + verdict.stderr[-2000:]
        bye = _first(trace, "received")["BYE"]
        answer = _first(trace, "sent")["200"]  # the carrier's 200 OK to the INVITE
        assert await wait_for(_phone_hung_up(made.phone), 10), made.phone.log()
        record = await made.record(voice_id, timeout=10)
        assert record.termination_code == "200" and record.termination_reason == calls.INTERRUPTED
        # The API shows whole seconds. The call ended, for the record, between the answer and the kill.
        assert (
            answer.replace(microsecond=0) <= at(record.answer_time) <= at(record.hangup_time) <= killed < bye
        )
        # Charged at least what was certainly used: the heartbeat wrote the call up every HEARTBEAT s
        # until the kill (one interval may be lost, and a second is left for the answer to reach us and
        # for the last write on a loaded machine), never more than the carrier saw (200 OK to BYE).
        certain = (killed - answer).total_seconds() - HEARTBEAT - 1
        assert int(certain) <= record.call_duration <= (bye - answer).total_seconds()
        assert int(certain) >= 1
        assert record.charged_duration == 60 and record.cost == "0.01"
        ledger, balance = await _ledger(database_url, voice_id)
        assert ledger == [
            ("reserve", Decimal("-0.01")),
            ("release", Decimal("0.01")),
            ("call", Decimal("-0.01")),
        ]
        assert balance == Decimal(10) + sum(amount for _kind, amount in ledger) == Decimal("9.99")


async def _ledger(database_url: str, voice_id: str) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """The call's ledger rows and its account's balance, read from the database itself."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.account_id)
                .where(LedgerEntry.reference == voice_id)
                .order_by(LedgerEntry.id)
            )
            entries = rows.all()
            balance = await conn.scalar(select(Account.balance).where(Account.id == entries[0].account_id))
    finally:
        await engine.dispose()
    return [(kind, amount) for kind, amount, _account in entries], balance
