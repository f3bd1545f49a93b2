"""sendSip over real SIP in-process: a virtual phone registered to the platform, the sandbox carrier as
the trunk. What the API answers, and each record as the client reads it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.domain import calls
from sipline.store.models import LedgerEntry
from tests.calls.conftest import PhoneFactory, finished, record_of, set_balance
from tests.conftest import Api

UK = "44207946"  # + four digits choosing the sandbox behaviour


def order(record: dict[str, Any], callee: str, app_id: str, **extra: object) -> dict[str, object]:
    return {
        "callee": callee,
        "displayNum": "1008122211",
        "account": record["account"],
        "appId": app_id,
        "calledInfo": "lead 42",
        **extra,
    }


async def send(api: Api, record: dict[str, Any], callee: str, **extra: object) -> dict[str, Any]:
    return await api.post("sendSip", order(record, callee, api.customer.app_id, **extra))


async def test_answered_call_is_recorded_rated_and_paid(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    answer = await send(api, record, UK + "9001")  # the sandbox answers and talks 1 s
    assert answer["status"] == "0", answer
    voice_id = answer["data"]
    assert isinstance(voice_id, str) and len(voice_id) == 19 and voice_id.isdigit()

    early = (await api.http.get(f"/voice/recordSip/{voice_id}", headers=api.customer.headers())).json()
    assert early["status"] == "0" and early["data"]["submitTime"] is not None
    assert early["data"]["hangupTime"] is None and early["data"]["terminationCode"] is None

    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200"
    assert done["terminationReason"] == calls.CALLEE_HUNG_UP
    times = [
        datetime.fromisoformat(done[key]) for key in ("submitTime", "callTime", "ringingTime", "answerTime")
    ]
    assert times == sorted(times)
    assert datetime.fromisoformat(done["hangupTime"]) >= times[-1]
    assert done["callDuration"] == 1
    assert done["chargedDuration"] == 60 and done["billPeriod"] == "60+60"
    assert done["rate"] == "0.01" and done["cost"] == "0.01" and done["baseCost"] == "0.01"
    assert done["code"].startswith("United Kingdom")
    assert done["callee"] == UK + "9001" and done["displayNum"] == "1008122211"
    assert done["calledInfo"] == "lead 42" and done["feedbackValue"] == "-1"
    assert done["phoneName"] == record["phoneName"]

    # The phone saw the callee's number; the money: reserved, released, charged.
    assert phone.incoming[0].from_.uri.user == UK + "9001"
    async with live.sessions() as session:
        ledger = (await session.scalars(select(LedgerEntry).where(LedgerEntry.reference == voice_id))).all()
    assert [(entry.kind, entry.amount) for entry in ledger] == [
        ("reserve", Decimal("-0.01")),
        ("release", Decimal("0.01")),
        ("call", Decimal("-0.01")),
    ]
    assert [e.balance_after for e in ledger] == [
        Decimal("99.99"),
        Decimal("100"),
        Decimal("99.99"),
    ]  # reserve, release, call


async def test_busy_callee_ends_the_call_with_486(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "0486"))["data"]
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "486" and done["terminationReason"] == "Busy Here"
    assert done["ringingTime"] is not None and done["answerTime"] is None
    assert done["callDuration"] == 0 and done["chargedDuration"] == 0 and done["cost"] == "0"
    assert phone.calls[0].terminated.is_set()  # the answered phone leg was hung up


async def test_callee_that_never_answers_is_cancelled(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "0000"))["data"]
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "487"
    assert calls.CALLEE_NO_ANSWER in done["terminationReason"]
    ringing, hangup = datetime.fromisoformat(done["ringingTime"]), datetime.fromisoformat(done["hangupTime"])
    # callee_ring_timeout is 2 s here (the record's times may be whole seconds: 1.5). At most 10 s:
    # nothing else ends this call (the sandbox callee rings for ever), and a loaded machine is slow.
    assert 1.5 <= (hangup - ringing).total_seconds() <= 10


async def test_phone_that_does_not_answer(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    phone, record = await phone_of(answer_after=30)
    voice_id = (await send(api, record, UK + "9001"))["data"]
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "487"
    assert calls.PHONE_NO_ANSWER in done["terminationReason"]
    assert done["callTime"] is None  # the callee was never called
    assert len(phone.incoming) == 1 and not phone.calls


async def test_dtmf_pressed_by_the_callee_is_the_feedback_then_the_phone_hangs_up(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "8123"))["data"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (current := await record_of(api, voice_id))["feedbackValue"] != "123":  # written as pressed
        assert loop.time() < deadline, current
        await asyncio.sleep(0.1)
    assert current["hangupTime"] is None
    await phone.calls[0].bye()
    done = await finished(api, voice_id)
    assert done["feedbackValue"] == "123"
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.PHONE_HUNG_UP


async def test_phone_in_a_call_or_unregistered_is_not_idle(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of(0)
    first = await send(api, record, UK + "9002")
    assert first["status"] == "0"
    second = await send(api, record, UK + "9002")
    assert second["status"] == "-68" and "in a call" in str(second["reason"])
    await finished(api, str(first["data"]))

    listing = await api.query()
    unregistered = listing["data"]["records"][2]  # type: ignore[index]
    answer = await send(api, unregistered, UK + "9001")
    assert answer["status"] == "-68" and "not registered" in str(answer["reason"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"callee": "44abc"}, "callee"),
        ({"callee": "12"}, "callee"),
        ({"displayNum": "12345"}, "displayNum"),
        ({"calledInfo": "x" * 1001}, "calledInfo"),
        ({"appId": "otherApp1"}, "appId"),
        ({"account": "0000000000"}, "account"),
    ],
)
async def test_bad_orders_get_22_naming_the_field(
    live: Platform, api: Api, phone_of: PhoneFactory, change: dict[str, object], field: str
) -> None:
    _phone, record = await phone_of()
    answer = await api.post("sendSip", order(record, UK + "9001", api.customer.app_id) | change)
    assert answer["status"] == "-22" and field in str(answer["reason"]), answer
    assert not live.calls.active


async def test_balance_that_cannot_pay_the_first_period_gets_10(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of()
    await set_balance(live, api, Decimal("0.0099"))
    answer = await send(api, record, UK + "9001")
    assert answer["status"] == "-10" and "0.01" in str(answer["reason"])
    now = datetime.now(UTC)
    window = {
        "strTime": (now - timedelta(hours=1)).isoformat(),
        "endTime": (now + timedelta(hours=1)).isoformat(),
    }
    listing = await api.post("recordGroupQuery", {"params": window})
    assert listing["status"] == "0" and listing["data"]["total"] == 0  # type: ignore[index]
    assert not live.calls.active


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "rates": [{"prefix": "44", "rate": "0.0100", "period": "60+60"}],
    }


async def test_destination_without_a_rate_gets_26(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    _phone, record = await phone_of()
    answer = await send(api, record, "93702123456")
    assert answer["status"] == "-26" and "93702123456" in str(answer["reason"])
