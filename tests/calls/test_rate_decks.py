"""A deck change mid-day, through the sandbox carrier: a call accepted before the new version keeps
its terms to the end, a call accepted after gets the new ones (the records' own fields and times);
and the terms a record keeps (connect fee included) are what a settlement after a crash uses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from sipline.bootstrap import Platform
from sipline.calls.journal import interrupted_calls
from tests.api.test_admin_api import AUTH
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, Customer
from tests.records import add_open_record

OLD = b"prefix,destination,rate,base_rate,period,connect_fee\n44,United Kingdom,0.0200,,20+20,\n"
NEW = b"44,United Kingdom,0.0500,0.0600,30+6,0.0100\n"  # no header: the documented column order


async def import_deck(http: httpx.AsyncClient, csv: bytes, effective_from: datetime) -> dict[str, object]:
    answer = await http.post(
        "/admin/rates/import",
        params={"effectiveFrom": effective_from.isoformat()},
        content=csv,
        headers={**AUTH, "Content-Type": "text/csv"},
    )
    payload: dict[str, object] = answer.json()
    assert payload["status"] == "0", payload
    return payload


async def test_a_deck_change_mid_day_never_reprices_a_call_accepted_before_it(
    live: Platform, api: Api, http: httpx.AsyncClient, phone_of: PhoneFactory
) -> None:
    _phone, first_phone = await phone_of(0)
    _other, second_phone = await phone_of(1)
    await import_deck(http, OLD, datetime.now(UTC) - timedelta(seconds=1))
    change = datetime.now(UTC) + timedelta(seconds=1.5)
    await import_deck(http, NEW, change)

    before = (await send(api, first_phone, UK + "9003"))["data"]  # talks 3 s: still up at the change
    await asyncio.sleep((change - datetime.now(UTC)).total_seconds() + 0.1)
    after = (await send(api, second_phone, UK + "9001"))["data"]
    old, new = await finished(api, before), await finished(api, after)

    assert datetime.fromisoformat(old["submitTime"]) < change < datetime.fromisoformat(old["hangupTime"])
    assert datetime.fromisoformat(new["submitTime"]) >= change.replace(microsecond=0)
    assert (old["rate"], old["billPeriod"], old["callDuration"]) == ("0.02", "20+20", 3)
    assert (old["chargedDuration"], old["cost"], old["baseCost"]) == (20, "0.0067", "0.0067")
    # 30 s at 0.05/min plus the 0.01 connect fee; baseCost: the same at the 0.06 list rate.
    assert (new["rate"], new["billPeriod"], new["callDuration"]) == ("0.05", "30+6", 1)
    assert (new["chargedDuration"], new["cost"], new["baseCost"]) == (30, "0.035", "0.04")


async def test_a_record_keeps_its_connect_fee_for_a_settlement_after_a_crash(
    platform: Platform, customer: Customer
) -> None:
    answered = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    async with platform.sessions() as session:
        await add_open_record(
            session,
            customer.api_key,
            customer.app_id,
            voice_id="2612021200000000001",
            submit_time=answered,
            answer_time=answered,
            last_activity=answered + timedelta(seconds=31),
            bill_period="30+6",
            rate=Decimal("0.06"),
            base_rate=Decimal("0.09"),
            connect_fee=Decimal("0.01"),
            node="crashed",
        )
        [call] = await interrupted_calls(session, "crashed")
    fields = call.settlement(now=answered + timedelta(hours=1)).fields
    assert (fields["charged_duration"], fields["cost"], fields["base_cost"]) == (
        36,
        Decimal("0.046"),
        Decimal("0.064"),
    )
