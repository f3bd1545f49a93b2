"""The call writer's group commits: reservations never take a balance below zero, whatever the batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.calls.writer import BUSY_BATCH, NewCall, Settlement, next_window
from sipline.domain.errors import ApiError
from sipline.store.models import Account, CallRecord, LedgerEntry
from tests.conftest import Customer


def new_call(platform: Platform, account_id: int, app_pk: int, index: int, reserve: str) -> NewCall:
    voice_id = f"26112300000000{index:05d}"
    return NewCall(
        account_id=account_id,
        reserve=Decimal(reserve),
        record={
            "voice_id": voice_id,
            "account_id": account_id,
            "app_pk": app_pk,
            "group_name": "g",
            "phone_name": "p",
            "phone_account": "1",
            "callee": "442079469001",
            "display_num": "1008122211",
            "submit_time": datetime.now(UTC),
            "reserved": Decimal(reserve),
            "node": "test",
        },
        new_voice_id=lambda: voice_id,
    )


async def test_a_batch_takes_reservations_in_order_while_the_balance_lasts(
    platform: Platform, customer: Customer
) -> None:
    auth = await platform.directory.auth_record(customer.api_key)
    app = await platform.directory.app_phones(customer.app_id)
    assert auth is not None and app is not None
    async with platform.sessions() as session:
        account = await session.get(Account, auth.account_id)
        assert account is not None
        account.balance = Decimal("0.25")
        await session.commit()
    writer = platform.calls.writer
    # three calls in one batch need 0.30: the first two fit, the third is refused with -10
    outcomes = await asyncio.gather(
        *(writer.accept(new_call(platform, auth.account_id, app.app_pk, i, "0.10")) for i in range(3)),
        return_exceptions=True,
    )
    assert [isinstance(outcome, ApiError) for outcome in outcomes] == [False, False, True]
    assert isinstance(outcomes[2], ApiError) and outcomes[2].status.value == "-10"
    assert writer.batches == 1
    async with platform.sessions() as session:
        balance = await session.scalar(select(Account.balance).where(Account.id == auth.account_id))
        records = (await session.scalars(select(CallRecord.voice_id))).all()
        ledger = (await session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))).all()
    assert balance == Decimal("0.05") and len(records) == 2
    assert [(e.kind, e.amount, e.balance_after) for e in ledger if e.kind == "reserve"] == [
        ("reserve", Decimal("-0.10"), Decimal("0.15")),
        ("reserve", Decimal("-0.10"), Decimal("0.05")),
    ]

    # settling both in one batch: reservations back, costs taken, one balance update
    ended = {"hangup_time": datetime.now(UTC), "cost": Decimal("0.02")}
    settled = await asyncio.gather(
        *(
            writer.settle(Settlement(voice_id, auth.account_id, Decimal("0.10"), ended))
            for voice_id in records
        )
    )
    assert settled == [True, True]
    assert writer.batches == 2  # settled as one batch (not failed and retried one by one)
    again = await writer.settle(Settlement(records[0], auth.account_id, Decimal("0.10"), ended))
    assert again is False  # closed already: no money moves twice
    async with platform.sessions() as session:
        balance = await session.scalar(select(Account.balance).where(Account.id == auth.account_id))
    assert balance == Decimal("0.21")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


def test_the_gathering_window_grows_with_large_batches_and_shrinks_with_small_ones() -> None:
    window, shortest, longest = 0.005, 0.005, 0.05
    for _ in range(10):  # a sustained load: doubled each batch, never beyond the longest
        window = next_window(window, BUSY_BATCH, shortest, longest)
    assert window == longest
    assert next_window(0.02, BUSY_BATCH - 1, shortest, longest) == 0.02  # a middling batch keeps it
    for _ in range(10):  # the load gone: halved each batch, never below the shortest
        window = next_window(window, 1, shortest, longest)
    assert window == shortest


async def test_the_writer_gathers_longer_after_a_large_batch(platform: Platform, customer: Customer) -> None:
    writer = platform.calls.writer
    assert writer.window == writer.interval
    for index in range(BUSY_BATCH):  # record updates of calls that do not exist: no row changes
        writer.update(f"2611230000000{index:06d}", {"feedback_value": "1"})
    await writer.drain()
    assert writer.batches == 1 and writer.window == 2 * writer.interval
    writer.update("261123000000000000", {"feedback_value": "1"})
    await writer.drain()
    assert writer.batches == 2 and writer.window == writer.interval
