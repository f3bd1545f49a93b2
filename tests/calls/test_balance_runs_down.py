"""Many calls of one account running down the same money (issue 11): reservations follow each call,
the balance never goes below zero, calls are refused (-10) or cut when the money runs out, the ledger
sums to the balance, and every record's cost is its rated cost and no more than it reserved."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from sipline.billing.rating import BillingPeriod, Rate, charge
from sipline.bootstrap import Platform
from sipline.calls.journal import interrupted_calls, settle_interrupted
from sipline.calls.writer import Extension
from sipline.carrier.phone import VirtualPhone
from sipline.domain import calls
from sipline.store.models import Account, CallRecord, LedgerEntry
from tests.calls.conftest import finished
from tests.calls.test_call_writer import new_call
from tests.calls.test_metrics import scrape, value
from tests.calls.test_send_sip import UK, order
from tests.conftest import Api

PER_SECOND = Rate("", Decimal("0.60"), BillingPeriod(1, 1))  # 0.01 a second


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rates": [{"prefix": "", "rate": "0.60", "period": "1+1"}], "max_call_duration": 60}


async def phones(live: Platform, api: Api, count: int) -> tuple[list[VirtualPhone], list[dict[str, Any]]]:
    """``count`` phones added (sipAdd) and registered with what sipQuery shows."""
    assert (await api.add(group="load", phone="load", quantity=count))["status"] == "0"
    listing = await api.query(size=100)
    records: list[dict[str, Any]] = listing["data"]["records"]  # type: ignore[index]
    started = [
        VirtualPhone(
            ("127.0.0.1", live.sip.port),
            record["account"],
            record["password"],
            domain=live.settings.sip_domain,
            answer_after=0.1,
        )
        for record in records
    ]
    await asyncio.gather(*(phone.start() for phone in started))
    return started, records


async def leave_balance(live: Platform, api: Api, amount: Decimal) -> int:
    """Adjust the customer's opening 100 down to ``amount`` (a ledger row); the account's id."""
    await live.ledger.adjust(api.customer.api_key, amount - Decimal(100), "test: the money to run down")
    async with live.sessions() as session:
        account_id = await session.scalar(select(Account.id).where(Account.api_key == api.customer.api_key))
    assert account_id is not None
    return account_id


async def balance_of(live: Platform, account_id: int) -> Decimal:
    async with live.sessions() as session:
        balance = await session.scalar(select(Account.balance).where(Account.id == account_id))
    assert balance is not None
    return balance


class Sampler:
    """Reads the balance every few milliseconds while the calls run: the lowest it ever was."""

    def __init__(self, live: Platform, account_id: int) -> None:
        self.lowest: Decimal | None = None
        self.samples = 0
        self._task = asyncio.create_task(self._run(live, account_id))

    async def _run(self, live: Platform, account_id: int) -> None:
        while True:
            balance = await balance_of(live, account_id)
            self.lowest = balance if self.lowest is None else min(self.lowest, balance)
            self.samples += 1
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        self._task.cancel()


async def check_the_money(live: Platform, account_id: int, voice_ids: list[str], api: Api) -> list[Any]:
    """Every record settled at its rated cost, within what it reserved; the ledger sums to the balance."""
    done = [await finished(api, voice_id, timeout=40) for voice_id in voice_ids]
    await live.calls.writer.drain()
    async with live.sessions() as session:
        rows = {
            row.voice_id: row
            for row in await session.scalars(select(CallRecord).where(CallRecord.account_id == account_id))
        }
        ledger_sum = await session.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.account_id == account_id)
        )
    final = await balance_of(live, account_id)
    assert ledger_sum == final  # opening top-up, adjustment, and every reserve/release/call row
    for record in done:
        row = rows[record["voiceId"]]
        assert record["hangupTime"] is not None, record
        rated = charge(PER_SECOND, record["callDuration"], record["answerTime"] is not None).cost
        assert Decimal(record["cost"]) == rated, record
        assert rated <= row.reserved, record
    return done


@pytest.mark.slow
async def test_fifty_calls_run_down_one_balance_and_it_never_goes_below_zero(
    live: Platform, api: Api
) -> None:
    # 50 calls of 1-8 s of talk want 219 s at 0.01 a second (2.19): 1.00 runs out whatever the timing,
    # even if a busy machine fails half the calls (with 3.00 it ran out only when enough calls held
    # their 10 s chunks at once; 1.80 once did not run out, on a loaded CI run)
    talks = [1 + index % 8 for index in range(50)]
    started = Decimal("1.00")
    assert sum(talks) * Decimal("0.01") > started
    account_id = await leave_balance(live, api, started)
    _phones, records = await phones(live, api, 50)
    sampler = Sampler(live, account_id)
    answers = await asyncio.gather(
        *(
            api.post("sendSip", order(record, f"{UK}9{talk:03d}", api.customer.app_id))
            for record, talk in zip(records, talks, strict=True)
        )
    )
    assert {answer["status"] for answer in answers} <= {"0", "-10"}, answers
    voice_ids = [str(answer["data"]) for answer in answers if answer["status"] == "0"]
    done = await check_the_money(live, account_id, voice_ids, api)
    sampler.stop()
    assert sampler.samples > 10 and sampler.lowest is not None and sampler.lowest >= 0
    final = await balance_of(live, account_id)
    assert final >= 0
    assert sum(Decimal(record["cost"]) for record in done) == started - final
    cut = [r for r in done if str(r["terminationReason"]).startswith(calls.BALANCE_EXHAUSTED)]
    refused = len(answers) - len(voice_ids)
    outcomes = Counter((r["terminationReason"], r["callDuration"]) for r in done)
    assert cut or refused, f"the money never ran out: the test proves nothing; {outcomes}"
    for record in cut:  # cut no later than the sandbox would have hung up (a 1 s call may race it)
        talk = int(record["callee"][-3:])
        assert record["terminationCode"] == "200" and record["callDuration"] <= talk, record
    spoke_in_full = [r for r in done if r["terminationReason"] == calls.CALLEE_HUNG_UP]
    assert spoke_in_full, f"no call got the money it needed; {outcomes}"


@pytest.mark.slow
async def test_ten_calls_a_third_of_a_second_apart_on_five_seconds_of_money_end_at_zero(
    live: Platform, api: Api
) -> None:
    """The issue's measured case: 1+1, balance 0.05, each call would talk 10 s; it ended at -0.10."""
    account_id = await leave_balance(live, api, Decimal("0.05"))
    _phones, records = await phones(live, api, 10)
    answers = []
    for record in records:
        answers.append(await api.post("sendSip", order(record, UK + "1234", api.customer.app_id)))
        await asyncio.sleep(0.3)
    voice_ids = [str(answer["data"]) for answer in answers if answer["status"] == "0"]
    assert all(answer["status"] in ("0", "-10") for answer in answers)
    done = await check_the_money(live, account_id, voice_ids, api)
    final = await balance_of(live, account_id)
    assert final >= 0
    assert sum(Decimal(record["cost"]) for record in done) == Decimal("0.05") - final
    assert any(str(r["terminationReason"]).startswith(calls.BALANCE_EXHAUSTED) for r in done)
    samples = await scrape(api.http)
    assert value(samples, "sipline_reservation_extensions_total", outcome="refused") >= 2  # chunk, step
    assert value(samples, "sipline_reservation_extensions_total", outcome="taken") >= 1


async def test_a_crash_recovery_releases_every_chunk_a_call_reserved(live: Platform, api: Api) -> None:
    """A call with its first period and two extensions open at a crash: the restart settles it,
    releasing all three and charging what it had talked, never more than it held."""
    account_id = await leave_balance(live, api, Decimal("1.00"))
    app = await live.directory.app_phones(api.customer.app_id)
    assert app is not None
    writer = live.calls.writer
    call = new_call(live, account_id, app.app_pk, 1, "0.01")
    answer = datetime.now(UTC).replace(microsecond=0)
    call.record |= {
        "node": live.calls.node,
        "rate": PER_SECOND.per_minute,
        "bill_period": "1+1",
        "answer_time": answer,
        "last_activity": answer + timedelta(seconds=30),  # its heartbeat said so before the crash
    }
    await writer.accept(call)
    for _ in range(2):
        assert await writer.extend(Extension(call.voice_id, account_id, Decimal("0.10")))
    assert await balance_of(live, account_id) == Decimal("0.79")
    async with live.sessions() as session:
        interrupted = await interrupted_calls(session, live.calls.node)
    assert [c.reserved for c in interrupted] == [Decimal("0.21")]  # all three chunks
    assert await settle_interrupted(writer, interrupted, live.calls.node, datetime.now(UTC)) == 1
    # talked 30 s by its last activity, but only 21 s were paid for: charged 21 s, never more
    async with live.sessions() as session:
        row = await session.scalar(select(CallRecord).where(CallRecord.voice_id == call.voice_id))
        kinds = (
            await session.scalars(
                select(LedgerEntry.kind)
                .where(LedgerEntry.reference == call.voice_id)
                .order_by(LedgerEntry.id)
            )
        ).all()
    assert row is not None and row.cost == Decimal("0.21") and row.call_duration == 21
    assert row.termination_reason == calls.INTERRUPTED
    assert list(kinds) == ["reserve", "reserve", "reserve", "release", "call"]
    assert await balance_of(live, account_id) == Decimal("0.79")
