"""Each fraud limit refuses sendSip with its own code and reason (billing/limits.py, docs/api.md), and
the limits follow an operator's change at once (admin API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sipline.billing.limits import AccountLimits
from sipline.bootstrap import Platform
from sipline.calls.writer import Settlement
from sipline.domain.errors import ApiError
from sipline.domain.status import Status
from sipline.store.models import LedgerEntry
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_call_writer import new_call
from tests.calls.test_metrics import scrape, value
from tests.calls.test_send_sip import UK, send
from tests.conftest import ADMIN_TOKEN, Api

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def set_limits(api: Api, **limits: object) -> dict[str, Any]:
    answer = await api.http.put(f"/admin/accounts/{api.customer.api_key}/limits", json=limits, headers=ADMIN)
    payload: dict[str, Any] = answer.json()
    return payload


async def unregistered_phone(api: Api) -> dict[str, Any]:
    """A phone of the app that never registered: admitted calls to it end in -68, refused ones not."""
    assert (await api.add(quantity=3))["status"] == "0"
    record: dict[str, Any] = (await api.query())["data"]["records"][0]  # type: ignore[index]
    return record


async def test_denied_and_allowed_only_destinations(live: Platform, api: Api) -> None:
    phone = await unregistered_phone(api)
    assert (await set_limits(api, deny=["1900", "4470"]))["status"] == "0"
    denied = await send(api, phone, "19005550100")
    assert denied["status"] == Status.DESTINATION_BARRED == "-83"
    assert denied["reason"] == "calls to prefix 1900 are denied for this account"
    assert (await send(api, phone, UK + "9001"))["status"] == "-68"  # admitted: then not registered

    assert (await set_limits(api, allowOnly=["4420"]))["status"] == "0"  # replaces: nothing denied now
    assert (await send(api, phone, "19005550100"))["status"] == "-83"
    assert (await send(api, phone, "33142000000"))["reason"] == (
        "the destination is not among the prefixes allowed for this account"
    )
    assert (await send(api, phone, UK + "9001"))["status"] == "-68"


async def test_calls_per_second(live: Platform, api: Api) -> None:
    phone = await unregistered_phone(api)
    await set_limits(api, maxCps=2)
    statuses = [(await send(api, phone, UK + "9001"))["status"] for _ in range(3)]
    assert statuses == ["-68", "-68", "-81"]  # two admitted (then no registration), the third refused
    samples = await scrape(api.http)
    assert value(samples, "sipline_call_admission_refusals_total", status="-81") == 1


async def test_daily_spend_cap_counts_debits_and_open_reservations(live: Platform, api: Api) -> None:
    phone = await unregistered_phone(api)
    await set_limits(api, dailyCap="0.0050")  # less than one 60+60 minute at 0.01
    refused = await send(api, phone, UK + "9001")
    assert refused["status"] == "-82"
    assert refused["reason"] == "the daily spend cap of 0.005 is reached (0 spent today, UTC)"
    await set_limits(api, dailyCap="0.01")
    assert (await send(api, phone, UK + "9001"))["status"] == "-68"  # 0 + 0.01 fits the cap


async def test_concurrent_calls(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    _first, record = await phone_of(0)
    _second, other = await phone_of(1)
    await set_limits(api, maxConcurrent=1)
    up = await send(api, record, UK + "9002")  # talks 2 s
    assert up["status"] == "0"
    refused = await send(api, other, UK + "9001")
    assert refused == {
        "status": "-80",
        "reason": "the account has 1 calls up, its limit is 1",
        "data": None,
    }
    await finished(api, str(up["data"]))
    again = await send(api, other, UK + "9001")
    assert again["status"] == "0"  # the first call's end freed its place
    await finished(api, str(again["data"]))
    auth = await live.directory.auth_record(api.customer.api_key)
    assert auth is not None and live.admission.live_calls(auth.account_id) == 0


async def test_limits_are_shown_and_bad_ones_refused(live: Platform, api: Api) -> None:
    shown = await set_limits(
        api, maxConcurrent=5, maxCps=3, dailyCap="12.5", deny=["+1900", "1900"], allowOnly=[]
    )
    assert shown["data"] == {
        "apiKey": api.customer.api_key,
        "maxConcurrent": 5,
        "maxCps": 3,
        "dailyCap": "12.5",
        "deny": ["1900"],
        "allowOnly": [],
    }
    got = await api.http.get(f"/admin/accounts/{api.customer.api_key}/limits", headers=ADMIN)
    assert got.json()["data"] == shown["data"]
    for bad, field in (
        ({"maxConcurrent": 0}, "maxConcurrent"),
        ({"maxCps": 10**12}, "maxCps"),
        ({"dailyCap": "-1"}, "dailyCap"),
        ({"dailyCap": "0.00001"}, "dailyCap"),
        ({"deny": ["19x"]}, "deny"),
        ({"allowOnly": ["1" * 21]}, "allowOnly"),
        ({"deny": ["1"] * 1001}, "deny"),
    ):
        answer = await set_limits(api, **bad)
        assert answer["status"] == "-22" and field in answer["reason"], (bad, answer)
    unknown = await api.http.put("/admin/accounts/nobody1/limits", json={}, headers=ADMIN)
    assert unknown.json()["status"] == "-22"
    no_token = await api.http.put(f"/admin/accounts/{api.customer.api_key}/limits", json={})
    assert no_token.status_code == 401


async def test_daily_spend_is_todays_debits_plus_open_reservations(platform: Platform, api: Api) -> None:
    """Through ``CallAdmission.admit``, the interface every way of placing calls uses."""
    auth = await platform.directory.auth_record(api.customer.api_key)
    app = await platform.directory.app_phones(api.customer.app_id)
    assert auth is not None and app is not None
    writer, now = platform.calls.writer, datetime.now(UTC)
    first = new_call(platform, auth.account_id, app.app_pk, 1, "0.10")
    await writer.accept(first)
    ended = {"hangup_time": now, "cost": Decimal("0.03")}
    assert await writer.settle(Settlement(first.voice_id, auth.account_id, Decimal("0.10"), ended))
    await writer.accept(new_call(platform, auth.account_id, app.app_pk, 2, "0.05"))  # still up
    async with platform.sessions() as session:  # yesterday's spending does not count today
        session.add(
            LedgerEntry(
                account_id=auth.account_id,
                kind="call",
                amount=Decimal("-5"),
                balance_after=Decimal(0),
                reference="yesterday",
                created_at=now - timedelta(days=1),
            )
        )
        await session.commit()
    assert await platform.limits.daily_spend(auth.account_id, now.replace(hour=0, minute=0)) == Decimal(
        "0.08"
    )
    await platform.limits.set(api.customer.api_key, AccountLimits.of(daily_cap="0.09"))
    admitted = await platform.admission.admit(auth.account_id, UK + "9001", now, Decimal("0.01"))
    admitted.release()
    with pytest.raises(ApiError) as refused:
        await platform.admission.admit(auth.account_id, UK + "9001", now, Decimal("0.02"))
    assert refused.value.status is Status.DAILY_SPEND_CAP
    assert refused.value.reason == "the daily spend cap of 0.09 is reached (0.08 spent today, UTC)"
    assert platform.admission.live_calls(auth.account_id) == 0
