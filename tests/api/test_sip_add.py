"""POST /voice/sipAdd: validation (-22), duplicates (-20), limits (-23), all-or-nothing, concurrency."""

import asyncio

import pytest
from sqlalchemy import func, select

from sipline.bootstrap import Platform
from sipline.store.models import Phone, PhoneGroup
from tests.conftest import Api


async def test_creates_named_phones_with_credentials(api: Api) -> None:
    assert await api.add("sipGroup", "sip", 3) == {"status": "0", "reason": "success", "data": None}
    records = (await api.query())["data"]["records"]  # type: ignore[index]
    assert [r["phoneName"] for r in records] == ["sip-1", "sip-2", "sip-3"]
    assert {r["groupName"] for r in records} == {"sipGroup"}
    assert {r["displayNum"] for r in records} == {"861000000"}
    accounts = [r["account"] for r in records]
    assert len(set(accounts)) == 3
    assert all(a.isdigit() and len(a) == 10 for a in accounts)
    for record in records:
        password = record["password"]
        assert len(password) == 8 and password.isalnum()


async def test_accepts_numbers_sent_as_strings(api: Api) -> None:
    reply = await api.post(
        "sipAdd",
        {
            "groupName": "grp1",
            "phoneName": "desk",
            "quantity": "2",
            "displayNum": 8613800000,
            "appId": api.customer.app_id,
            "unknownField": "ignored",
        },
    )
    assert reply["status"] == "0"
    assert (await api.query())["data"]["total"] == 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"groupName": "abc"}, "groupName"),
        ({"groupName": "x" * 33}, "groupName"),
        ({"groupName": None}, "groupName"),
        ({"phoneName": "a"}, "phoneName"),
        ({"phoneName": "x" * 31}, "phoneName"),
        ({"phoneName": ""}, "phoneName"),
        ({"phoneName": ["list"]}, "phoneName"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 51}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"displayNum": "123456"}, "displayNum"),
        ({"displayNum": "12345678901234"}, "displayNum"),
        ({"displayNum": "86100000a"}, "displayNum"),
        ({"appId": ""}, "appId"),
        ({"appId": "noSuchApp"}, "appId"),
    ],
)
async def test_invalid_fields_are_named(api: Api, change: dict[str, object], field: str) -> None:
    body = {
        "groupName": "sipGroup",
        "phoneName": "sip",
        "quantity": 3,
        "displayNum": "861000000",
        "appId": api.customer.app_id,
    } | change
    reply = await api.post("sipAdd", body)
    assert reply["status"] == "-22"
    assert str(reply["reason"]).startswith(field)
    assert reply["data"] is None
    assert (await api.query())["data"]["total"] == 0  # type: ignore[index]


@pytest.mark.parametrize("missing", ["groupName", "phoneName", "quantity", "displayNum", "appId"])
async def test_missing_fields_are_named(api: Api, missing: str) -> None:
    body = {
        "groupName": "sipGroup",
        "phoneName": "sip",
        "quantity": 3,
        "displayNum": "861000000",
        "appId": api.customer.app_id,
    }
    del body[missing]
    reply = await api.post("sipAdd", body)
    assert (reply["status"], reply["reason"]) == ("-22", f"{missing} is required")


async def test_duplicate_group_name(api: Api) -> None:
    assert (await api.add("sipGroup", "sip", 2))["status"] == "0"
    reply = await api.add("sipGroup", "other", 2)
    assert reply["status"] == "-20"
    assert "groupName" in str(reply["reason"])
    assert (await api.query())["data"]["total"] == 2  # type: ignore[index]


async def test_duplicate_phone_name_writes_nothing(api: Api, platform: Platform) -> None:
    assert (await api.add("groupOne", "sip", 2))["status"] == "0"
    reply = await api.add("groupTwo", "sip", 5)
    assert reply["status"] == "-20"
    assert "sip-1" in str(reply["reason"])
    # Nothing half-written: the group of the refused call does not exist, so it can still be created.
    async with platform.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PhoneGroup)) == 1
        assert await session.scalar(select(func.count()).select_from(Phone)) == 2
    assert (await api.add("groupTwo", "desk", 5))["status"] == "0"
    assert (await api.query())["data"]["total"] == 7  # type: ignore[index]


async def test_same_names_in_another_app_are_fine(api: Api, platform: Platform) -> None:
    other = await platform.tenancy.create_app(api.customer.api_key)
    assert (await api.add("sipGroup", "sip", 2))["status"] == "0"
    assert (await api.add("sipGroup", "sip", 2, appId=other.app_id))["status"] == "0"


async def test_phone_limit(api: Api, platform: Platform) -> None:
    small = await platform.tenancy.create_app(api.customer.api_key, phone_limit=5)
    assert (await api.add("groupA", "sipa", 3, appId=small.app_id))["status"] == "0"
    reply = await api.add("groupB", "sipb", 3, appId=small.app_id)
    assert reply["status"] == "-23"
    assert "3 of 5" in str(reply["reason"])
    assert (await api.add("groupB", "sipb", 2, appId=small.app_id))["status"] == "0"
    assert (await api.add("groupC", "sipc", 1, appId=small.app_id))["status"] == "-23"
    assert (await api.query(app_id=small.app_id))["data"]["total"] == 5  # type: ignore[index]


async def test_concurrent_identical_calls_one_wins(api: Api, platform: Platform) -> None:
    replies = await asyncio.gather(*(api.add("raceGroup", "race", 50) for _ in range(2)))
    assert sorted(str(r["status"]) for r in replies) == ["-20", "0"]
    assert (await api.query())["data"]["total"] == 50  # type: ignore[index]
    async with platform.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Phone)) == 50


async def test_concurrent_calls_never_overshoot_the_limit(api: Api, platform: Platform) -> None:
    small = await platform.tenancy.create_app(api.customer.api_key, phone_limit=60)
    replies = await asyncio.gather(
        *(api.add(f"group{i}", f"phone{i}", 30, appId=small.app_id) for i in range(4))
    )
    assert sorted(str(r["status"]) for r in replies) == ["-23", "-23", "0", "0"]
    assert (await api.query(app_id=small.app_id))["data"]["total"] == 60  # type: ignore[index]


async def test_passwords_are_encrypted_at_rest(api: Api, platform: Platform) -> None:
    await api.add("sipGroup", "sip", 5)
    shown = {r["password"] for r in (await api.query())["data"]["records"]}  # type: ignore[index]
    async with platform.sessions() as session:
        stored = (await session.scalars(select(Phone.password_enc))).all()
    assert len(stored) == 5
    assert all(value.startswith("v1:") for value in stored)
    assert not any(password in value for value in stored for password in shown)
