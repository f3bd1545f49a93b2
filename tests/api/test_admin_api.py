"""The operator's admin HTTP API under /admin (bearer token)."""

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def admin(http: httpx.AsyncClient, method: str, path: str, body: object = None) -> dict:
    response = await http.request(method, f"/admin{path}", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}])
async def test_token_required(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/admin/accounts", headers=headers)
    assert response.status_code == 401
    assert response.json()["status"] == "-1"


async def test_account_lifecycle(http: httpx.AsyncClient) -> None:
    created = await admin(
        http,
        "POST",
        "/accounts",
        {"name": "Acme", "balance": "12.5", "currency": "EUR", "quoteExchange": "0.938"},
    )
    assert created["status"] == "0"
    key = created["data"]["apiKey"]
    assert len(key) == 8 and len(created["data"]["apiSecret"]) == 8

    shown = (await admin(http, "GET", f"/accounts/{key}"))["data"]
    assert shown["balance"] == "12.5000"
    assert (shown["currency"], shown["quoteExchange"], shown["locked"]) == ("EUR", "0.938", False)
    assert "apiSecret" not in shown

    app = (await admin(http, "POST", "/apps", {"apiKey": key, "phoneLimit": 10}))["data"]
    assert app["phoneLimit"] == 10 and len(app["appId"]) == 8

    assert (await admin(http, "POST", f"/accounts/{key}/lock"))["data"]["locked"] is True
    assert (await admin(http, "POST", f"/accounts/{key}/unlock"))["data"]["locked"] is False
    allow = await admin(
        http, "PUT", f"/accounts/{key}/ip-allowlist", {"ipAllowlist": ["10.1.0.0/16", "127.0.0.1"]}
    )
    assert allow["data"]["ipAllowlist"] == ["10.1.0.0/16", "127.0.0.1/32"]
    topped = await admin(http, "POST", f"/accounts/{key}/top-up", {"amount": "0.0001", "reference": "inv-1"})
    assert topped["data"]["balance"] == "12.5001"
    listed = (await admin(http, "GET", "/accounts"))["data"]
    assert [a["apiKey"] for a in listed] == [key]
    assert listed[0]["apps"] == [app["appId"]]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/accounts", {"currency": "XXX"}, "currency"),
        ("/accounts", {"currency": "EUR"}, "quoteExchange"),
        ("/accounts", {"balance": "1.00001"}, "balance"),
        ("/accounts", {"balance": "-5"}, "balance"),
        ("/accounts", {"ipAllowlist": ["nonsense"]}, "ipAllowlist"),
        ("/accounts", {"apiKey": "a b"}, "apiKey"),
        ("/apps", {"apiKey": "missing0"}, "apiKey"),
    ],
)
async def test_admin_validation(http: httpx.AsyncClient, path: str, body: object, field: str) -> None:
    reply = await admin(http, "POST", path, body)
    assert reply["status"] == "-22"
    assert reply["reason"].startswith(field)


async def test_top_up_must_be_positive(http: httpx.AsyncClient) -> None:
    key = (await admin(http, "POST", "/accounts", {}))["data"]["apiKey"]
    for amount in ("0", "-1", "abc"):
        reply = await admin(http, "POST", f"/accounts/{key}/top-up", {"amount": amount})
        assert reply["status"] == "-22"
    assert (await admin(http, "GET", f"/accounts/{key}"))["data"]["balance"] == "0.0000"


async def test_imported_credentials_must_be_unique(http: httpx.AsyncClient) -> None:
    body = {"apiKey": "keepKey1", "apiSecret": "keepSecret1"}
    assert (await admin(http, "POST", "/accounts", body))["status"] == "0"
    assert (await admin(http, "POST", "/accounts", body))["status"] == "-20"


async def test_concurrent_top_ups_lose_nothing(platform) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    from decimal import Decimal

    from sqlalchemy import select

    from sipline.store.models import LedgerEntry

    key = (await platform.tenancy.create_account()).api_key
    await asyncio.gather(*(platform.tenancy.top_up(key, Decimal("0.0001"), f"t{i}") for i in range(20)))
    assert (await platform.tenancy.get_account(key)).balance == Decimal("0.0020")
    async with platform.sessions() as session:
        rows = (
            await session.scalars(select(LedgerEntry.balance_after).order_by(LedgerEntry.balance_after))
        ).all()
    assert rows == [Decimal(i) / 10000 for i in range(1, 21)]
