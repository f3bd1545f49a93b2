"""The async SDK against the real app (in-process ASGI transport)."""

import httpx
import pytest

from sipline.bootstrap import Platform, build_app
from sipline.client import AsyncClient, SiplineError
from tests.conftest import Customer


@pytest.fixture
async def client(platform: Platform, customer: Customer):
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    async with AsyncClient(
        "http://sipline.test", customer.api_key, customer.api_secret, transport=transport
    ) as sdk:
        yield sdk


async def test_add_query_reset(client: AsyncClient, customer: Customer) -> None:
    await client.sip_add(customer.app_id, "sdkGroup", "sdk", 30, "861000000")
    page = await client.sip_query(customer.app_id, current=2, size=20)
    assert (page.total, page.pages, page.current, page.size, len(page.records)) == (30, 2, 2, 20, 10)
    assert page.records[0].phone_name == "sdk-21"
    phones = [phone async for phone in client.iter_phones(customer.app_id, page_size=7)]
    assert [p.phone_name for p in phones] == [f"sdk-{i}" for i in range(1, 31)]
    new_password = await client.sip_reset(customer.app_id, phones[0].account)
    assert (await client.sip_query(customer.app_id, 1, 1)).records[0].password == new_password


async def test_errors_carry_status_and_reason(client: AsyncClient, customer: Customer) -> None:
    with pytest.raises(SiplineError) as caught:
        await client.sip_add(customer.app_id, "sdkGroup", "sdk", 51, "861000000")
    assert caught.value.status == "-22"
    assert caught.value.reason.startswith("quantity")
    await client.sip_add(customer.app_id, "sdkGroup", "sdk", 1, "861000000")
    with pytest.raises(SiplineError) as caught:
        await client.sip_add(customer.app_id, "sdkGroup", "sdk", 1, "861000000")
    assert caught.value.status == "-20"


async def test_wrong_secret(platform: Platform, customer: Customer) -> None:
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    async with AsyncClient("http://sipline.test", customer.api_key, "wrong", transport=transport) as sdk:
        with pytest.raises(SiplineError) as caught:
            await sdk.sip_query(customer.app_id)
    assert caught.value.status == "-1"


async def test_sip_delete_and_hangup(client: AsyncClient, customer: Customer) -> None:
    await client.sip_add(customer.app_id, "sdkGroup", "sdk", 2, "861000000")
    first = (await client.sip_query(customer.app_id)).records[0]
    await client.sip_delete(customer.app_id, first.account)
    left = await client.sip_query(customer.app_id)
    assert left.total == 1 and first.account not in [p.account for p in left.records]
    with pytest.raises(SiplineError) as caught:
        await client.hangup("2612020000000000001")
    assert caught.value.status == "-22" and "not a call of this account in progress" in caught.value.reason
