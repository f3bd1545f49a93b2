"""Call record endpoints: recordSip/{voiceId}, recordGroupQuery, recordSipQuery (seed shapes, -25)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sipline.bootstrap import Platform
from sipline.services.directory import AuthRecord
from sipline.store.models import CallRecord
from tests.api.test_golden_seeds import json_after, seed_text, shape
from tests.conftest import Api, Customer

T0 = datetime(2026, 11, 20, 6, 42, 40, tzinfo=UTC)


async def insert(
    platform: Platform, customer: Customer, voice_id: str, submitted: datetime, **extra: object
) -> None:
    auth: AuthRecord | None = await platform.directory.auth_record(customer.api_key)
    phones = await platform.directory.app_phones(customer.app_id)
    assert auth is not None and phones is not None
    values: dict[str, object] = {
        "voice_id": voice_id,
        "account_id": auth.account_id,
        "app_pk": phones.app_pk,
        "group_name": "group1",
        "phone_name": "sipName-1",
        "phone_account": "1234567890",
        "callee": "93302123456",
        "display_num": "1008122211",
        "called_info": "calledInfo",
        "code": "Afghanistan(Kandahar)",
        "submit_time": submitted,
    }
    values.update(extra)
    async with platform.sessions() as session:
        session.add(CallRecord(**values))
        await session.commit()


ANSWERED = {
    "call_time": T0 + timedelta(seconds=5),
    "ringing_time": T0 + timedelta(seconds=7),
    "answer_time": T0 + timedelta(seconds=10),
    "hangup_time": T0 + timedelta(seconds=15),
    "call_duration": 5,
    "charged_duration": 20,
    "termination_code": "200",
    "termination_reason": "success",
    "bill_period": "20+20",
    "rate": Decimal("1.2"),
    "cost": Decimal("0.4"),
    "base_cost": Decimal("0.1"),
    "currency": "EUR",
    "quote_exchange": Decimal("0.938"),
    "settle_rate": Decimal("1.2793"),
    "settle_pay": Decimal("0.4264"),
    "recording_file_id": "3e2f0781-9642-40ec-8bbe-df35abec72d4",
    "feedback_value": "1",
}


def window(hours: int = 0) -> dict[str, str]:
    """The last 3 days to 2 days ahead, written in the offset UTC+`hours`."""
    zone = timezone(timedelta(hours=hours))
    start = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0).astimezone(zone)
    return {"strTime": start.isoformat(), "endTime": (start + timedelta(days=5)).isoformat()}


@pytest.fixture
async def records(api: Api, platform: Platform) -> Api:
    now = datetime.now(UTC).replace(microsecond=0)
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    await insert(platform, api.customer, "2211200642401000001", now - timedelta(hours=30), **ANSWERED)
    await insert(
        platform, api.customer, "2211200642401000002", now - timedelta(hours=20), phone_name="other-1"
    )
    await insert(
        platform, api.customer, "2211200642401000003", now - timedelta(hours=10), group_name="group2"
    )
    await insert(platform, api.customer, "2211200642401000004", now - timedelta(days=40))
    return api


async def test_record_sip_matches_the_seed(records: Api) -> None:
    response = await records.http.get(
        "/voice/recordSip/2211200642401000001", headers=records.customer.headers()
    )
    answer = response.json()
    expected = json_after(seed_text("recordSip"), "RESPONSEEXAMPLE")
    data, seed = answer["data"], expected["data"]
    assert list(data)[: len(seed)] == list(seed)
    assert shape({key: data[key] for key in seed}) == shape(seed)
    assert list(data)[len(seed) :] == ["feedbackValue", "calledInfo", "baseCost", "callOrigin"]
    assert data["callOrigin"] == "api"  # a sendSip call
    assert answer["status"] == "0"
    assert (data["callDuration"], data["chargedDuration"], data["terminationCode"]) == (5, 20, "200")
    assert (data["cost"], data["rate"], data["billPeriod"], data["baseCost"]) == (
        "0.4",
        "1.2",
        "20+20",
        "0.1",
    )
    assert (data["settleRate"], data["quoteExchange"], data["currency"], data["settlePay"]) == (
        "1.2793",
        "0.938",
        "EUR",
        "0.4264",
    )
    assert (data["answerTime"], data["hangupTime"]) == (
        "2026-11-20T06:42:50+00:00",
        "2026-11-20T06:42:55+00:00",
    )
    submitted = datetime.fromisoformat(data["submitTime"])
    assert submitted.utcoffset() == timedelta(0)
    assert timedelta(hours=29) < datetime.now(UTC) - submitted < timedelta(hours=31)


async def test_record_sip_of_a_call_in_progress_has_nulls(records: Api) -> None:
    response = await records.http.get(
        "/voice/recordSip/2211200642401000002", headers=records.customer.headers()
    )
    data = response.json()["data"]
    assert data["submitTime"] is not None
    assert (data["answerTime"], data["hangupTime"], data["terminationCode"], data["cost"]) == (
        None,
        None,
        None,
        None,
    )
    assert (data["callDuration"], data["chargedDuration"], data["feedbackValue"]) == (0, 0, "-1")
    assert (data["currency"], data["settlePay"]) == (None, None)  # USD account: no settlement fields


@pytest.mark.parametrize(
    "voice_id", ["2211200642401000099", "22112006424010000", "abc", "2211200642401000001x"]
)
async def test_record_sip_unknown_or_malformed(records: Api, voice_id: str) -> None:
    response = await records.http.get(f"/voice/recordSip/{voice_id}", headers=records.customer.headers())
    assert response.status_code == 200
    assert response.json()["status"] == "-22"
    assert response.json()["reason"].startswith("voiceId")


async def test_another_accounts_record_is_not_visible(records: Api, platform: Platform) -> None:
    other = await platform.tenancy.create_account()
    app = await platform.tenancy.create_app(other.api_key)
    stranger = Customer(other.api_key, other.api_secret, app.app_id)
    response = await records.http.get("/voice/recordSip/2211200642401000001", headers=stranger.headers())
    assert response.json()["status"] == "-22"
    reply = await records.http.post(
        "/voice/recordGroupQuery", json={"params": window()}, headers=stranger.headers()
    )
    assert reply.json()["data"]["total"] == 0


async def test_group_query_window_order_and_paging(records: Api) -> None:
    reply = await records.post("recordGroupQuery", {"current": 1, "size": 2, "params": window()})
    data = reply["data"]
    assert (data["total"], data["size"], data["current"], data["pages"], data["searchCount"]) == (
        3,
        2,
        1,
        2,
        True,
    )
    assert [r["voiceId"] for r in data["records"]] == ["2211200642401000003", "2211200642401000002"]
    second = (await records.post("recordGroupQuery", {"current": "2", "size": "2", "params": window()}))[
        "data"
    ]
    assert [r["voiceId"] for r in second["records"]] == ["2211200642401000001"]
    seed = json_after(seed_text("recordGroupQuery"), "RESPONSEEXAMPLE")["data"]
    record, seed_record = second["records"][0], seed["records"][0]
    assert list(record) == list(seed_record)
    assert shape(record) == shape(seed_record)
    assert list(data)[:5] == ["total", "size", "current", "pages", "records"] and "searchCount" in data


async def test_times_are_shown_in_the_offset_asked_in(records: Api) -> None:
    in_utc = (await records.post("recordGroupQuery", {"params": window()}))["data"]["records"]
    in_china = (await records.post("recordGroupQuery", {"params": window(8)}))["data"]["records"]
    assert [r["voiceId"] for r in in_utc] == [r["voiceId"] for r in in_china]
    assert all(r["submitTime"].endswith("+00:00") for r in in_utc)
    assert all(r["submitTime"].endswith("+08:00") for r in in_china)
    assert datetime.fromisoformat(in_utc[0]["submitTime"]) == datetime.fromisoformat(
        in_china[0]["submitTime"]
    )


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        (
            {"strTime": "2026-11-20T00:00:00+08:00", "endTime": "2026-11-19T00:00:00+08:00"},
            "-25",
            "endTime is before",
        ),
        (
            {"strTime": "2026-10-01T00:00:00+08:00", "endTime": "2026-11-02T00:00:00+08:00"},
            "-25",
            "more than 31 days",
        ),
        (
            {"strTime": "2020-01-01T00:00:00+08:00", "endTime": "2020-01-02T00:00:00+08:00"},
            "-25",
            "retention",
        ),
        (
            {"strTime": "2026-11-20T00:00:00", "endTime": "2026-11-21T00:00:00+08:00"},
            "-22",
            "strTime must include",
        ),
        (
            {"strTime": "yesterday", "endTime": "2026-11-21T00:00:00+08:00"},
            "-22",
            "strTime must be an ISO 8601",
        ),
        ({"strTime": "2026-11-20T00:00:00+08:00"}, "-22", "params.endTime is required"),
        ({}, "-22", "params.strTime is required"),
    ],
)
async def test_bad_windows(records: Api, params: dict[str, str], status: str, reason: str) -> None:
    reply = await records.post("recordGroupQuery", {"current": 1, "size": 20, "params": params})
    assert reply["status"] == status
    assert reason in str(reply["reason"])


async def test_sip_query_filters_by_group_and_phone(records: Api) -> None:
    every = (await records.post("recordSipQuery", {"params": window()}))["data"]
    assert every["total"] == 3
    assert set(every["records"][0]) >= {"sipGroupName", "phoneName", "voiceId", "calledInfo"}
    group2 = (await records.post("recordSipQuery", {"params": window() | {"sipGroupName": "group2"}}))["data"]
    assert [r["voiceId"] for r in group2["records"]] == ["2211200642401000003"]
    other = (await records.post("recordSipQuery", {"params": window() | {"phoneName": "other-1"}}))["data"]
    assert [r["voiceId"] for r in other["records"]] == ["2211200642401000002"]
    none = (await records.post("recordSipQuery", {"params": window() | {"phoneName": "nobody"}}))["data"]
    assert (none["total"], none["pages"], none["records"]) == (0, 0, [])


async def test_sdk_reads_records(records: Api, platform: Platform) -> None:
    import httpx

    from sipline.bootstrap import build_app
    from sipline.client import AsyncClient, SiplineError

    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    customer = records.customer
    async with AsyncClient(
        "http://sipline.test", customer.api_key, customer.api_secret, transport=transport
    ) as sdk:
        one = await sdk.record_sip("2211200642401000001")
        assert (one.voice_id, one.call_duration, one.cost, one.currency) == (
            "2211200642401000001",
            5,
            "0.4",
            "EUR",
        )
        assert one.recording_file_id == "3e2f0781-9642-40ec-8bbe-df35abec72d4"
        span = window(8)
        page = await sdk.record_group_query(span["strTime"], span["endTime"], size=2)
        assert (page.total, page.pages, [r.voice_id[-1] for r in page.records]) == (3, 2, ["3", "2"])
        assert page.records[0].recording_file_id is None and page.records[0].sip_group_name is None
        by_group = await sdk.record_sip_query(span["strTime"], span["endTime"], sip_group_name="group2")
        assert [(r.voice_id[-1], r.sip_group_name) for r in by_group.records] == [("3", "group2")]
        with pytest.raises(SiplineError) as caught:
            await sdk.record_group_query(span["endTime"], span["strTime"])
        assert caught.value.status == "-25"
