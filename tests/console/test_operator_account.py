"""One account's page for the operator, over HTTP: figures and ledger, balance adjustments with a
reason, fraud limits, the quote currency; refusals change nothing; customers never see it."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from sipline.billing.ledger import LedgerWindow
from sipline.billing.limits import AccountLimits
from sipline.bootstrap import Platform
from sipline.domain.paging import PageRequest
from tests.conftest import Customer
from tests.console.conftest import Console


def _page(customer: Customer) -> str:
    return f"/console/operator/accounts/{customer.api_key}"


def _cell(html: str, name: str) -> str:
    """The text of the first element with id or class ``name``."""
    found = re.search(rf'(?:id|class)="{name}">(.*?)</', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", " ", found.group(1)).split("<")[0].strip()


async def _ledger_size(platform: Platform, customer: Customer) -> int:
    return (await platform.ledger.entries_of(customer.api_key, LedgerWindow(), PageRequest(1, 1))).total


async def test_the_accounts_list_links_each_account_to_its_page(
    operator: Console, customer: Customer
) -> None:
    listed = await operator.get("/console/operator/accounts")
    assert f'href="/console/operator/accounts/{customer.api_key}"' in listed.text
    page = await operator.get(_page(customer))
    assert page.status_code == 200
    assert _cell(page.text, "balance") == "100.0000" and _cell(page.text, "state") == "active"
    assert _cell(page.text, "currency") == "USD" and customer.app_id in page.text
    assert "opening" in page.text  # the opening balance's ledger row
    assert f'href="/console/operator/rates?account={customer.api_key}"' in page.text


async def test_an_adjustment_changes_the_balance_and_adds_a_ledger_row(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    before = await _ledger_size(platform, customer)
    done = await operator.post(
        f"{_page(customer)}/adjust", {"amount": "-12.5", "reason": "<b>refund</b> error"}
    )
    assert done.status_code == 303 and done.headers["location"] == _page(customer)
    page = await operator.get(_page(customer))
    assert _cell(page.text, "balance") == "87.5000"
    first_row = page.text.split("<tbody>")[-1]
    assert _cell(first_row, "kind") == "adjust" and _cell(first_row, "amount") == "-12.5000"
    assert _cell(first_row, "balance-after") == "87.5000"
    assert "&lt;b&gt;refund&lt;/b&gt; error" in first_row  # escaped
    assert await _ledger_size(platform, customer) == before + 1
    assert (await platform.tenancy.get_account(customer.api_key)).balance == Decimal("87.5")


async def test_a_bad_adjustment_is_refused_with_its_reason_and_changes_nothing(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    before = await _ledger_size(platform, customer)
    for form, reason in [
        ({"amount": "ten", "reason": "x"}, "amount must be a decimal number"),
        ({"amount": "9" * 40, "reason": "x"}, "amount must be at most 1000000000"),
        ({"amount": "NaN", "reason": "x"}, "amount must be a finite decimal number"),
        ({"amount": "1.00001", "reason": "x"}, "amount must have at most 4 decimal places"),
        ({"amount": "0", "reason": "x"}, "amount must be greater than 0"),
        ({"amount": "-100.0001", "reason": "x"}, "below zero"),
        ({"amount": "5", "reason": "  "}, "reason is required"),
        ({"amount": "5", "reason": "r" * 129}, "reason must be 1-128 characters"),
    ]:
        refused = await operator.post(f"{_page(customer)}/adjust", form)
        assert refused.status_code == 400, form
        assert reason in refused.text, (form, refused.text[-800:])
        assert _cell(refused.text, "balance") == "100.0000"
    assert await _ledger_size(platform, customer) == before
    assert (await platform.tenancy.get_account(customer.api_key)).balance == Decimal(100)


async def test_limits_are_saved_shown_and_used_by_the_call_admission(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    saved = await operator.post(
        f"{_page(customer)}/limits",
        {
            "max_concurrent": "3",
            "max_cps": "2",
            "daily_cap": "25.5",
            "deny": "+881, 979\n979",
            "allow_only": "",
        },
    )
    assert saved.status_code == 303
    page = (await operator.get(_page(customer))).text
    assert _cell(page, "max-concurrent") == "3" and _cell(page, "max-cps") == "2"
    assert _cell(page, "daily-cap") == "25.5000"
    assert "<code>881</code> <code>979</code>" in page and _cell(page, "allow-only") == "any destination"
    assert 'name="max_concurrent" size="7" maxlength="9" value="3"' in page  # the form shows them too
    expected = AccountLimits(3, 2, Decimal("25.5"), ("881", "979"), ())
    assert await platform.limits.get(customer.api_key) == expected
    standing = await platform.limits.standing(customer.api_key, datetime.now(UTC))
    assert await platform.admission.limits_of(standing.account_id) == expected  # the cache dropped
    cleared = await operator.post(f"{_page(customer)}/limits", {"max_concurrent": "", "daily_cap": ""})
    assert cleared.status_code == 303
    assert await platform.limits.get(customer.api_key) == AccountLimits()


async def test_bad_limits_are_refused_and_change_nothing(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    await operator.post(f"{_page(customer)}/limits", {"max_cps": "5"})
    for form, reason in [
        ({"max_concurrent": "0"}, "maxConcurrent must be 1-100000"),
        ({"max_concurrent": "1000000000"}, "maxConcurrent must be a whole number 0-100000"),
        ({"max_cps": "2.5"}, "maxCps must be a whole number"),
        ({"max_cps": "10001"}, "maxCps must be a whole number 0-10000"),
        ({"daily_cap": "-1"}, "dailyCap must not be negative"),
        ({"daily_cap": "lots"}, "dailyCap must be a decimal number"),
        ({"deny": "44 12a"}, "deny prefix &#39;12a&#39; must be 1-20 digits"),
        ({"allow_only": " ".join(str(n) for n in range(1001))}, "allowOnly must have at most 1000 prefixes"),
    ]:
        refused = await operator.post(f"{_page(customer)}/limits", form)
        assert refused.status_code == 400 and reason in refused.text, (form, refused.text[-600:])
    assert await platform.limits.get(customer.api_key) == AccountLimits(max_cps=5)


async def test_the_quote_currency_is_changed_on_the_account(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    assert (
        await operator.post(f"{_page(customer)}/quote", {"currency": "eur", "quote_exchange": "0.938"})
    ).status_code == 303
    page = (await operator.get(_page(customer))).text
    assert _cell(page, "currency") == "EUR" and "0.9380 per USD" in page
    view = await platform.tenancy.get_account(customer.api_key)
    assert (view.currency, view.quote_exchange) == ("EUR", Decimal("0.938"))
    for form, reason in [
        ({"currency": "GBP"}, "quoteExchange is required for currency GBP"),
        ({"currency": "XYZ", "quote_exchange": "1"}, "currency must be one of"),
        ({"currency": "GBP", "quote_exchange": "0"}, "quoteExchange must be greater than 0"),
        ({"currency": "GBP", "quote_exchange": "1,5"}, "quoteExchange must be a decimal number"),
    ]:
        refused = await operator.post(f"{_page(customer)}/quote", form)
        assert refused.status_code == 400 and reason in refused.text, form
    view = await platform.tenancy.get_account(customer.api_key)
    assert (view.currency, view.quote_exchange) == ("EUR", Decimal("0.938"))
    assert (await operator.post(f"{_page(customer)}/quote", {"currency": "USD"})).status_code == 303
    view = await platform.tenancy.get_account(customer.api_key)
    assert (view.currency, view.quote_exchange) == ("USD", None)


async def test_a_form_without_the_csrf_token_is_refused(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    for action, form in [
        ("adjust", {"amount": "5", "reason": "x"}),
        ("limits", {"max_cps": "1"}),
        ("quote", {"currency": "EUR", "quote_exchange": "1"}),
    ]:
        refused = await operator.post(f"{_page(customer)}/{action}", form, csrf=False)
        assert refused.status_code == 403 and "did not come from this console" in refused.text
    view = await platform.tenancy.get_account(customer.api_key)
    assert (view.balance, view.currency) == (Decimal(100), "USD")
    assert await platform.limits.get(customer.api_key) == AccountLimits()


async def test_an_unknown_account_is_the_consoles_404(operator: Console) -> None:
    for response in [
        await operator.get("/console/operator/accounts/nosuchkey"),
        await operator.post("/console/operator/accounts/nosuchkey/adjust", {"amount": "1", "reason": "x"}),
        await operator.post("/console/operator/accounts/nosuchkey/limits", {"max_cps": "1"}),
        await operator.post("/console/operator/accounts/nosuchkey/quote", {"currency": "USD"}),
    ]:
        assert response.status_code == 404 and "There is nothing here." in response.text


async def test_a_customer_gets_404_on_the_account_page(
    platform: Platform, signed_in: Console, customer: Customer
) -> None:
    assert (await signed_in.get(_page(customer))).status_code == 404
    refused = await signed_in.post(f"{_page(customer)}/adjust", {"amount": "50", "reason": "gift"})
    assert refused.status_code == 404
    assert (await signed_in.post(f"{_page(customer)}/limits", {})).status_code == 404
    assert (await platform.tenancy.get_account(customer.api_key)).balance == Decimal(100)
