"""The operator's account page and rate decks page in a real browser: adjust a balance with a reason,
set a limit, upload a deck with an error and see its line number, import a good one and download it.
Each page is photographed (docs/console/operator_account.png, rates.png)."""

from decimal import Decimal

import pytest
from playwright.sync_api import FilePayload, Page, expect

from sipline.billing.deck_csv import parse_deck
from tests.browser.conftest import ConsolePlatform

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.interop]
GOOD = (
    b"prefix,destination,rate,base_rate,period,connect_fee\n"
    b",World,0.0500,,60+60,\n"
    b"44,United Kingdom,0.0200,0.0300,20+20,0.0100\n"
    b"447,United Kingdom mobile,0.0900,,60+60,\n"
)
BAD = b"prefix,destination,rate,base_rate,period,connect_fee\n44,UK,0.0200,,20+20,\n33,France,0.0x,,60+60,\n"


def shot(page: Page, platform: ConsolePlatform, name: str) -> None:
    page.screenshot(path=platform.screenshots / f"{name}.png", full_page=True)


def test_the_operator_adjusts_a_balance_and_sets_a_limit_on_the_account_page(
    operator_page: Page, console_platform: ConsolePlatform
) -> None:
    page = operator_page
    page.goto("/console/operator/accounts")
    page.click(f"#accounts tr[data-api-key='{console_platform.api_key}'] a.account-link")
    expect(page.locator("#api-key")).to_have_text(console_platform.api_key)
    before = Decimal(page.locator("#balance").inner_text())
    page.fill("#adjust input[name=amount]", "-1.25")
    page.fill("#adjust input[name=reason]", "goodwill correction, ticket 4711")
    page.click("#adjust button[type=submit]")
    expect(page.locator("#balance")).to_have_text(f"{before - Decimal('1.25'):.4f}")
    first = page.locator("#ledger tbody tr").first
    expect(first.locator(".kind")).to_have_text("adjust")
    expect(first.locator(".reference")).to_have_text("goodwill correction, ticket 4711")
    page.fill("#adjust input[name=amount]", "lots")
    page.fill("#adjust input[name=reason]", "typo")
    page.click("#adjust button[type=submit]")
    expect(page.locator(".error")).to_contain_text("amount must be a decimal number")
    expect(page.locator("#balance")).to_have_text(f"{before - Decimal('1.25'):.4f}")
    page.fill("#limits input[name=max_concurrent]", "4")
    page.fill("#limits input[name=daily_cap]", "50")
    page.fill("#limits textarea[name=deny]", "881 979")
    page.click("#limits button[type=submit]")
    expect(page.locator("#limits-in-force .max-concurrent")).to_have_text("4")
    expect(page.locator("#limits-in-force .daily-cap")).to_have_text("50.0000")
    expect(page.locator("#limits-in-force .deny")).to_have_text("881 979")
    shot(page, console_platform, "operator_account")


def test_a_deck_with_a_bad_line_shows_its_number_and_a_good_one_is_imported_and_downloaded(
    operator_page: Page, console_platform: ConsolePlatform
) -> None:
    page = operator_page
    page.goto("/console/operator/accounts")
    page.click("nav a[href='/console/operator/rates']")
    page.set_input_files("#import-deck input[name=deck]", files=[_file("world.csv", GOOD)])
    page.click("#import-deck button[type=submit]")
    expect(page.locator("#imported")).to_contain_text("3 lines")
    with page.expect_download() as download:
        page.click("#export-serving")
    assert parse_deck(download.value.path().read_bytes()) == parse_deck(GOOD)
    versions = page.locator("#versions tbody tr").count()
    page.set_input_files("#import-deck input[name=deck]", files=[_file("typo.csv", BAD)])
    page.click("#import-deck button[type=submit]")
    expect(page.locator("#refused")).to_contain_text("typo.csv was refused: nothing was imported.")
    expect(page.locator("#deck-errors li")).to_have_count(1)
    expect(page.locator("#deck-errors li[data-line='3']")).to_contain_text(
        "line 3: rate '0.0x' is not a number"
    )
    expect(page.locator("#versions tbody tr")).to_have_count(versions)  # nothing imported
    shot(page, console_platform, "rates")


def _file(name: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": data}
