"""The operator pages over HTTP: accounts created, locked and topped up; apps; console users."""

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sipline.bootstrap import Platform
from tests.conftest import Customer
from tests.console.conftest import PASSWORD, Console

Browsers = Callable[..., Awaitable[Console]]


async def test_accounts_are_created_locked_and_topped_up(platform: Platform, operator: Console) -> None:
    created = await operator.post(
        "/console/operator/accounts",
        {"name": "<i>Beta</i>", "balance": "3", "currency": "EUR", "quote_exchange": "0.9"},
    )
    assert created.status_code == 200
    api_key = re.search(r'<code id="created-key">([^<]+)</code>', created.text)
    assert api_key and "&lt;i&gt;Beta&lt;/i&gt;" in created.text
    key = api_key.group(1)
    assert (
        await operator.post(f"/console/operator/accounts/{key}/topup", {"amount": "2.5"})
    ).status_code == 303
    assert (await operator.post(f"/console/operator/accounts/{key}/lock")).status_code == 303
    view = await platform.tenancy.get_account(key)
    assert (view.balance, view.locked, view.currency, view.quote_exchange) == (
        Decimal("5.5"),
        True,
        "EUR",
        Decimal("0.9"),
    )
    for form, reason in [
        ({"amount": "abc"}, "amount must be a decimal number"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "9" * 40}, "amount must be a decimal number"),
    ]:
        refused = await operator.post(f"/console/operator/accounts/{key}/topup", form)
        assert refused.status_code == 400 and reason in refused.text
    assert (await operator.post("/console/operator/accounts", {"currency": "EUR"})).status_code == 400
    assert (await operator.post(f"/console/operator/accounts/{key}/explode")).status_code == 404


async def test_apps_and_users_are_created_by_the_operator(
    platform: Platform, customer: Customer, operator: Console, browsers: Browsers
) -> None:
    assert (
        await operator.post("/console/operator/apps", {"api_key": customer.api_key, "name": "crm"})
    ).status_code == 303
    assert ">crm<" in (await operator.get("/console/operator/apps")).text
    made = await operator.post(
        "/console/operator/users",
        {"email": "carol@example.com", "password": PASSWORD, "role": "customer", "api_key": customer.api_key},
    )
    assert made.status_code == 303
    carol = await browsers()
    assert (await carol.sign_in("carol@example.com")).headers["location"] == "/console/dashboard"
    short = await operator.post(
        "/console/operator/users", {"email": "dave@example.com", "password": "x", "role": "operator"}
    )
    assert short.status_code == 400 and "password must have 10 to 1024 characters" in short.text
    myself = await operator.post("/console/operator/users/delete", {"email": "root@example.com"})
    assert myself.status_code == 400
    assert (
        await operator.post("/console/operator/users/delete", {"email": "carol@example.com"})
    ).status_code == 303
    assert (await carol.get("/console/dashboard")).headers["location"] == "/console/login"


async def test_health_shows_the_readiness_checks(operator: Console) -> None:
    page = await operator.get("/console/operator/health")
    assert page.status_code == 200 and "<td>database</td>" in page.text
