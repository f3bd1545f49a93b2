"""The phones page over HTTP: a group added through the console, passwords revealed and reset, a phone
deleted, and none of it reachable from another account."""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sipline.bootstrap import Platform
from sipline.services.auth import Caller
from sipline.sip.bindings import Binding
from tests.conftest import Customer
from tests.console.conftest import Console

Browsers = Callable[..., Awaitable[Console]]


async def _add(console: Console, customer: Customer, group: str = "office", quantity: str = "3") -> None:
    response = await console.post(
        "/console/phones/groups",
        {
            "app": customer.app_id,
            "group_name": group,
            "phone_name": "desk",
            "quantity": quantity,
            "display_num": "8610000000",
        },
    )
    assert response.status_code == 303, response.text


def _accounts(html: str) -> list[str]:
    return re.findall(r'data-account="([^"]+)"', html)


async def test_a_group_added_in_the_console_is_listed_with_its_registration(
    platform: Platform, customer: Customer, signed_in: Console
) -> None:
    await _add(signed_in, customer)
    page = await signed_in.get("/console/phones")
    accounts = _accounts(page.text)
    assert len(accounts) == 3 and page.text.count(">not registered<") == 3
    assert ">desk-1<" in page.text and ">office<" in page.text
    platform.bindings.save_binding(
        Binding(
            accounts[0],
            "sip:desk@127.0.0.1:5070",
            datetime.now(UTC) + timedelta(seconds=300),
            "c",
            1,
            user_agent="Yealink T46U",
        )
    )
    page = await signed_in.get("/console/phones")
    assert "Yealink T46U" in page.text and "sip:desk@127.0.0.1:5070" in page.text
    assert page.text.count(">not registered<") == 2


async def test_sip_add_refusals_are_shown_on_the_page(customer: Customer, signed_in: Console) -> None:
    await _add(signed_in, customer)
    again = await signed_in.post(
        "/console/phones/groups",
        {
            "app": customer.app_id,
            "group_name": "office",
            "phone_name": "desk",
            "quantity": "1",
            "display_num": "8610000000",
        },
    )
    assert again.status_code == 400 and "groupName &#39;office&#39; already exists" in again.text
    for field, value, reason in [
        ("quantity", "51", "quantity must be a whole number 1-50"),
        ("quantity", "x" * 5000, "quantity must be a whole number 1-50"),
        ("display_num", "12", "display number must be 7-13 digits"),
        ("group_name", "ab", "group name must be 4-32 characters"),
    ]:
        body = {
            "app": customer.app_id,
            "group_name": "second",
            "phone_name": "desk2",
            "quantity": "1",
            "display_num": "8610000000",
        }
        refused = await signed_in.post("/console/phones/groups", body | {field: value})
        assert refused.status_code == 400 and reason in refused.text, refused.text


async def test_reveal_reset_and_delete(platform: Platform, customer: Customer, signed_in: Console) -> None:
    await _add(signed_in, customer, quantity="2")
    first, second = _accounts((await signed_in.get("/console/phones")).text)
    password = await platform.phones.password(await _caller(platform, customer), customer.app_id, first)
    revealed = await signed_in.htmx(f"/console/phones/{first}/reveal", {"app": customer.app_id})
    assert revealed.status_code == 200 and f">{password}<" in revealed.text
    reset = await signed_in.htmx(f"/console/phones/{first}/reset", {"app": customer.app_id})
    new_password = re.search(r'class="secret">([^<]+)<', reset.text)
    assert new_password and new_password.group(1) != password
    assert await platform.phones.password(
        await _caller(platform, customer), customer.app_id, first
    ) == new_password.group(1)
    deleted = await signed_in.htmx(f"/console/phones/{first}/delete", {"app": customer.app_id})
    assert deleted.status_code == 200 and deleted.text == ""
    assert _accounts((await signed_in.get("/console/phones")).text) == [second]
    app = (await platform.tenancy.list_apps(customer.api_key))[0]
    assert app.phone_count == 1  # its place in the limit is free again
    again = await signed_in.htmx(f"/console/phones/{first}/delete", {"app": customer.app_id})
    assert again.status_code == 404


async def _caller(platform: Platform, customer: Customer) -> Caller:
    auth = await platform.directory.auth_record(customer.api_key)
    assert auth is not None
    return Caller(auth.account_id, customer.api_key)


async def test_another_accounts_phones_are_not_found(
    platform: Platform, customer: Customer, signed_in: Console, browsers: Browsers
) -> None:
    await _add(signed_in, customer)
    account = _accounts((await signed_in.get("/console/phones")).text)[0]
    other = await platform.tenancy.create_account(balance=Decimal(1))
    other_app = await platform.tenancy.create_app(other.api_key)
    mallory = await browsers()
    await platform.console_users.create("mallory@example.com", "correct horse battery", api_key=other.api_key)
    await mallory.sign_in("mallory@example.com")
    assert (await mallory.get("/console/phones", app=customer.app_id)).status_code == 404
    assert (await mallory.get("/console/phones/events", app=customer.app_id)).status_code == 404
    for action in ("reveal", "reset", "delete"):
        for app_id in (customer.app_id, other_app.app_id):
            response = await mallory.htmx(f"/console/phones/{account}/{action}", {"app": app_id})
            assert response.status_code == 404, (action, app_id)
    assert len(_accounts((await signed_in.get("/console/phones")).text)) == 3  # nothing deleted


async def test_markup_in_names_is_shown_as_text(customer: Customer, signed_in: Console) -> None:
    await _add(signed_in, customer, group="<b>front</b>")
    html = (await signed_in.get("/console/phones")).text
    assert "&lt;b&gt;front&lt;/b&gt;" in html and "<b>front" not in html
