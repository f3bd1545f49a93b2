"""sipline's voice API extension POST /voice/sipDelete: a phone removed, its place in the limit freed."""

from decimal import Decimal

from sipline.bootstrap import Platform
from tests.conftest import Api, Customer


async def test_a_deleted_phone_is_gone_and_its_place_free(api: Api, platform: Platform) -> None:
    assert (await api.add(quantity=2))["status"] == "0"
    records = (await api.query())["data"]["records"]  # type: ignore[index]
    gone = records[0]["account"]
    answer = await api.post("sipDelete", {"account": gone, "appId": api.customer.app_id})
    assert answer == {"status": "0", "reason": "success", "data": None}
    left = (await api.query())["data"]["records"]  # type: ignore[index]
    assert [r["account"] for r in left] == [records[1]["account"]]
    assert (await platform.tenancy.list_apps(api.customer.api_key))[0].phone_count == 1
    assert await platform.directory.sip_credential(gone) is None  # it can no longer register
    again = await api.post("sipDelete", {"account": gone, "appId": api.customer.app_id})
    assert again["status"] == "-22" and "is not a phone of app" in str(again["reason"])


async def test_another_accounts_phone_cannot_be_deleted(api: Api, platform: Platform) -> None:
    assert (await api.add(quantity=1))["status"] == "0"
    account = (await api.query())["data"]["records"][0]["account"]  # type: ignore[index]
    other = await platform.tenancy.create_account(balance=Decimal(1))
    app = await platform.tenancy.create_app(other.api_key)
    mallory = Api(api.http, Customer(other.api_key, other.api_secret, app.app_id))
    for app_id in (api.customer.app_id, app.app_id):
        answer = await mallory.post("sipDelete", {"account": account, "appId": app_id})
        assert answer["status"] == "-22"
    assert len((await api.query())["data"]["records"]) == 1  # type: ignore[index]


async def test_bad_bodies_name_the_field(api: Api) -> None:
    answer = await api.post("sipDelete", {"appId": api.customer.app_id})
    assert answer["status"] == "-22" and str(answer["reason"]).startswith("account")
