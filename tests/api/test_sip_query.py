"""POST /voice/sipQuery pagination and POST /voice/sipReset."""

import pytest

from sipline.bootstrap import Platform
from tests.conftest import Api


@pytest.fixture
async def phones_30(api: Api) -> Api:
    assert (await api.add("groupA", "alpha", 20))["status"] == "0"
    assert (await api.add("groupB", "beta", 10))["status"] == "0"
    return api


async def test_pages_cover_every_phone_once_in_order(phones_30: Api) -> None:
    seen = []
    for current in (1, 2, 3, 4):
        data = (await phones_30.query(current, 8))["data"]
        assert (data["total"], data["size"], data["current"], data["pages"]) == (30, 8, current, 4)  # type: ignore[index]
        seen += [r["phoneName"] for r in data["records"]]  # type: ignore[index]
    assert seen == [f"alpha-{i}" for i in range(1, 21)] + [f"beta-{i}" for i in range(1, 11)]


async def test_defaults_and_strings(phones_30: Api) -> None:
    reply = await phones_30.post("sipQuery", {"params": {"appId": phones_30.customer.app_id}})
    data = reply["data"]
    assert (data["current"], data["size"], data["pages"], len(data["records"])) == (1, 25, 2, 25)  # type: ignore[index]
    data = (await phones_30.query("2", "25"))["data"]
    assert (data["current"], len(data["records"])) == (2, 5)  # type: ignore[index]


async def test_page_past_the_end_is_empty(phones_30: Api) -> None:
    data = (await phones_30.query(9, 10))["data"]
    assert (data["total"], data["pages"], data["records"]) == (30, 3, [])  # type: ignore[index]


async def test_largest_page(phones_30: Api) -> None:
    assert len((await phones_30.query(1, 100))["data"]["records"]) == 30  # type: ignore[index]


async def test_empty_app(api: Api) -> None:
    data = (await api.query())["data"]
    assert data == {"total": 0, "size": 25, "current": 1, "pages": 0, "records": []}


@pytest.mark.parametrize(
    ("current", "size", "field"),
    [
        (0, 10, "current"),
        (-1, 10, "current"),
        (1, 0, "size"),
        (1, 101, "size"),
        (None, 10, "current"),
        ("", 10, "current"),
        (1, "ten", "size"),
        (1.5, 10, "current"),
    ],
)
async def test_bad_paging(api: Api, current: object, size: object, field: str) -> None:
    reply = await api.query(current, size)
    assert reply["status"] == "-22"
    assert str(reply["reason"]).startswith(field)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"current": 1, "size": 20}, "params is required"),
        ({"params": None}, "params must be a valid dictionary"),
        ({"params": {}}, "params.appId is required"),
        ({"params": "appId"}, "params must be a valid dictionary"),
    ],
)
async def test_bad_params(api: Api, body: dict[str, object], reason: str) -> None:
    reply = await api.post("sipQuery", body)
    assert reply["status"] == "-22"
    assert str(reply["reason"]).startswith(reason)


async def test_reset_gives_a_new_password(phones_30: Api) -> None:
    before = (await phones_30.query(1, 1))["data"]["records"][0]  # type: ignore[index]
    reply = await phones_30.post(
        "sipReset", {"account": before["account"], "appId": phones_30.customer.app_id}
    )
    assert reply["status"] == "0"
    new_password = reply["data"]
    assert isinstance(new_password, str) and len(new_password) == 8 and new_password != before["password"]
    after = (await phones_30.query(1, 1))["data"]["records"][0]  # type: ignore[index]
    assert after == before | {"password": new_password}


async def test_reset_refuses_unknown_or_foreign_phone(phones_30: Api, platform: Platform) -> None:
    phone = (await phones_30.query(1, 1))["data"]["records"][0]  # type: ignore[index]
    other_app = await platform.tenancy.create_app(phones_30.customer.api_key)
    for body, field in (
        ({"account": "0000000000", "appId": phones_30.customer.app_id}, "account"),
        ({"account": phone["account"], "appId": other_app.app_id}, "account"),
        ({"account": phone["account"], "appId": "nope0000"}, "appId"),
        ({"appId": phones_30.customer.app_id}, "account"),
    ):
        reply = await phones_30.post("sipReset", body)
        assert reply["status"] == "-22", body
        assert str(reply["reason"]).startswith(field), reply
    still = (await phones_30.query(1, 1))["data"]["records"][0]  # type: ignore[index]
    assert still == phone
