"""The balance page over HTTP: the balance, the ledger with each row's running balance (a top-up, a
call's reservation, release and charge, linked to its record), the time window, paging, the CSV of
the window, and another account's ledger never shown."""

import csv
import html
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sipline.bootstrap import Platform
from sipline.calls.writer import Settlement
from tests.calls.test_call_writer import new_call
from tests.conftest import Customer
from tests.console.conftest import Console, customer_user

Browsers = Callable[..., Awaitable[Console]]
ROW = re.compile(
    r'<tr data-id="\d+" data-kind="(\w+)">\s*<td>([^<]*)</td>\s*<td class="kind">[^<]*</td>\s*'
    r'<td class="number amount">([^<]*)</td>\s*<td class="number running">([^<]*)</td>\s*'
    r'<td class="reference">(.*?)</td>',
    re.S,
)


def ledger_rows(page: str) -> list[tuple[str, str, str, str]]:
    """(kind, amount, balance after, reference as shown) of each ledger row, top to bottom."""
    return [
        (kind, amount, running, html.unescape(ref.strip()))
        for kind, _at, amount, running, ref in ROW.findall(page)
    ]


async def a_call(platform: Platform, customer: Customer, index: int, reserve: str, cost: str) -> str:
    """A call through the real call writer: its reservation at acceptance, then its settlement."""
    auth = await platform.directory.auth_record(customer.api_key)
    app = await platform.directory.app_phones(customer.app_id)
    assert auth is not None and app is not None
    call = new_call(platform, auth.account_id, app.app_pk, index, reserve)
    await platform.calls.writer.accept(call)
    ended = {"hangup_time": datetime.now(UTC), "cost": Decimal(cost)}
    assert await platform.calls.writer.settle(
        Settlement(call.voice_id, auth.account_id, Decimal(reserve), ended)
    )
    return call.voice_id


async def test_the_ledger_shows_a_top_up_and_a_calls_charge_with_the_running_balance(
    platform: Platform, customer: Customer, signed_in: Console
) -> None:
    await platform.tenancy.top_up(customer.api_key, Decimal("5"), "wire 2026-12")
    voice_id = await a_call(platform, customer, 1, "0.25", "0.1")
    page = await signed_in.get("/console/balance")
    assert page.status_code == 200
    assert re.search(r'id="available">104\.9000 USD<', page.text)
    assert re.search(r'id="reserved">0\.0000 USD<', page.text)
    link = f'<a href="/console/records/{voice_id}">{voice_id}</a>'
    assert ledger_rows(page.text) == [  # newest first
        ("call", "-0.1000", "104.9000", link),
        ("release", "0.2500", "105.0000", link),
        ("reserve", "-0.2500", "104.7500", link),
        ("topup", "5.0000", "105.0000", "wire 2026-12"),
        ("topup", "100.0000", "100.0000", "opening"),
    ]
    assert "5 ledger row(s)" in page.text
    record = await signed_in.get(f"/console/records/{voice_id}")  # the link leads to the call
    assert record.status_code == 200 and voice_id in record.text

    export = await signed_in.get("/console/balance.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["kind"], r["amount"], r["balanceAfter"], r["reference"]) for r in rows] == [
        ("call", "-0.1000", "104.9000", voice_id),
        ("release", "0.2500", "105.0000", voice_id),
        ("reserve", "-0.2500", "104.7500", voice_id),
        ("topup", "5.0000", "105.0000", "wire 2026-12"),
        ("topup", "100.0000", "100.0000", "opening"),
    ]


async def test_the_window_filters_the_ledger_and_bad_windows_are_refused(
    platform: Platform, customer: Customer, signed_in: Console
) -> None:
    await platform.tenancy.top_up(customer.api_key, Decimal("1.5"), "today")
    now = datetime.now(UTC)
    past = await signed_in.get(
        "/console/balance",
        start=(now - timedelta(days=20)).isoformat(),
        end=(now - timedelta(days=10)).isoformat(),
    )
    assert past.status_code == 200 and ledger_rows(past.text) == [] and "Nothing in this window." in past.text
    around = await signed_in.get(
        "/console/balance",
        start=(now - timedelta(minutes=5)).isoformat(),
        end=(now + timedelta(minutes=5)).isoformat(),
    )
    assert [row[3] for row in ledger_rows(around.text)] == ["today", "opening"]
    export = await signed_in.get(
        "/console/balance.csv",
        start=(now - timedelta(days=20)).isoformat(),
        end=(now - timedelta(days=10)).isoformat(),
    )
    assert export.text.splitlines() == ["createdAt,kind,amount,balanceAfter,reference"]
    for start, end, reason in (
        ("yesterday", "", "Window not applied"),
        ((now - timedelta(days=40)).isoformat(), now.isoformat(), "longer than 31 days"),
        (now.isoformat(), (now - timedelta(hours=1)).isoformat(), "ends before it starts"),
        ("0001-01-01T00:00:00+01:00", "", "Window not applied"),
    ):
        refused = await signed_in.get("/console/balance", start=start, end=end)
        assert refused.status_code == 400 and reason in refused.text, (start, end)
        assert (await signed_in.get("/console/balance.csv", start=start, end=end)).status_code == 400
    assert (await signed_in.get("/console/balance", page="x")).status_code == 400
    assert (await signed_in.get("/console/balance", page="99999999999")).status_code == 400


async def test_the_ledger_pages_fifty_rows_at_a_time(
    platform: Platform, customer: Customer, signed_in: Console
) -> None:
    for n in range(50):
        await platform.tenancy.top_up(customer.api_key, Decimal("1"), f"top-up {n}")
    first = await signed_in.get("/console/balance")
    rows = ledger_rows(first.text)
    assert len(rows) == 50 and rows[0][3] == "top-up 49" and "page 1 of 2" in first.text
    assert 'page=2">older' in first.text
    second = await signed_in.get("/console/balance", page="2")
    assert ledger_rows(second.text) == [("topup", "100.0000", "100.0000", "opening")]


async def test_another_accounts_ledger_is_never_shown(
    platform: Platform, customer: Customer, signed_in: Console, browsers: Browsers
) -> None:
    other = await platform.tenancy.create_account(balance=Decimal("7"))
    await platform.tenancy.create_app(other.api_key)
    await platform.tenancy.top_up(other.api_key, Decimal("3"), "the other account's money")
    mine = await signed_in.get("/console/balance")
    assert "the other account" not in mine.text and "10.0000 USD" not in mine.text
    assert [row[3] for row in ledger_rows(mine.text)] == ["opening"]
    mine_csv = await signed_in.get("/console/balance.csv")
    assert "the other account" not in mine_csv.text

    theirs = await browsers()
    email = await customer_user(platform, Customer(other.api_key, other.api_secret, ""), "bob@example.com")
    assert (await theirs.sign_in(email)).status_code == 303
    page = await theirs.get("/console/balance")
    assert re.search(r'id="available">10\.0000 USD<', page.text)
    assert [row[3] for row in ledger_rows(page.text)] == ["the other account's money", "opening"]


async def test_the_balance_page_needs_a_customer(browsers: Browsers) -> None:
    anonymous = await browsers()
    assert (await anonymous.get("/console/balance")).headers["location"] == "/console/login"
