"""The customer's money and webhooks pages in a real browser, in order: set the push URL (a refused
one said), reveal and rotate the signing secret, a call from a registered phone pushed to a receiver
on 127.0.0.1 and shown in the delivery log, replayed and delivered again, then the ledger with the
top-up and the call's rows linked to its record. Both pages are photographed."""

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsolePlatform
from tests.browser.test_console import _signed_post, shot
from tests.conftest import ADMIN_TOKEN, free_port
from tests.e2e.conftest import SIPLINE
from tests.events.receiver import Arrival, Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.interop]
REFUSED_AT_ONCE = "442079460404"  # the sandbox answers 404 at once


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    started = Receiver(free_port())
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def phone(console_platform: ConsolePlatform) -> Iterator[str]:
    """A phone of the customer's, registered by a `sipline phone` process: its account."""
    body = {"groupName": "hooks desk", "phoneName": "hook", "quantity": 1, "displayNum": "8610000000"}
    added = _signed_post(console_platform, "sipAdd", body | {"appId": console_platform.app_id})
    assert added["status"] == "0", added
    [record] = _group(console_platform, "hooks desk")
    served = console_platform.served
    process = subprocess.Popen(
        [*SIPLINE, "phone", "--account", record["account"], "--password", record["password"],
         "--server", f"127.0.0.1:{served.sip_port}", "--answer-after", "0.2"],
        env=served.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _group(console_platform, "hooks desk")[0]["registered"]:
            assert time.monotonic() < deadline, "the phone did not register"
            time.sleep(0.3)
        yield str(record["account"])
    finally:
        process.terminate()
        process.wait(timeout=10)


def _group(platform: ConsolePlatform, group: str) -> list[dict[str, Any]]:
    """sipQuery's records of the group's phones (sipQuery takes the app only; other tests share it)."""
    query = {"current": 1, "size": 100, "params": {"appId": platform.app_id}}
    data: dict[str, Any] = _signed_post(platform, "sipQuery", query)["data"]  # type: ignore[assignment]
    records: list[dict[str, Any]] = data["records"]
    return [record for record in records if record["groupName"] == group]


def _arrivals(receiver: Receiver, count: int) -> list[Arrival]:
    deadline = time.monotonic() + 30
    while len(arrived := receiver.delivered()) < count:
        assert time.monotonic() < deadline, f"{len(arrived)} of {count} pushes arrived"
        time.sleep(0.2)
    return arrived


def _reveal(page: Page) -> str:
    page.once("dialog", lambda dialog: dialog.accept())  # "Show the signing secret on screen?"
    page.click("#secret button.reveal")
    return page.locator("#secret .secret").inner_text()


def test_the_push_url_is_set_and_the_secret_revealed_and_rotated(
    customer_page: Page, console_platform: ConsolePlatform, receiver: Receiver
) -> None:
    page = customer_page
    page.goto("/console/webhooks")
    expect(page.locator("#signing")).to_have_count(0)
    page.fill("#push-url input[name=url]", "http://10.0.0.1/hooks")  # the SSRF rules refuse it
    page.click("#push-url button[type=submit]")
    expect(page.locator(".error")).to_contain_text("10.0.0.1 is a private address")
    page.fill("#push-url input[name=url]", receiver.url)
    page.click("#push-url button[type=submit]")
    expect(page.locator(".notice")).to_have_text("Push URL and events saved.")
    first = _reveal(page)
    assert len(first) > 20
    page.once("dialog", lambda dialog: dialog.accept())  # the rotation's warning
    page.click("#rotate button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("A new signing secret is in use")
    expect(page.locator("#previous-secret")).to_be_visible()
    second = _reveal(page)
    assert second != first
    console_platform.shared["push_secret"] = second


def test_a_call_is_pushed_shown_in_the_delivery_log_and_replayed(
    customer_page: Page, console_platform: ConsolePlatform, receiver: Receiver, phone: str
) -> None:
    sent = _signed_post(console_platform, "sendSip", {"callee": REFUSED_AT_ONCE, "displayNum": "8610000000",
                        "account": phone, "appId": console_platform.app_id})  # fmt: skip
    assert sent["status"] == "0", sent
    voice_id = str(sent["data"])
    [arrival] = _arrivals(receiver, 1)
    assert arrival.verified(console_platform.shared["push_secret"])["voiceId"] == voice_id
    page = customer_page
    page.goto("/console/webhooks")
    row = page.locator(f"#outbox tr[data-event='{arrival.event_id}']")
    expect(row.locator(".state")).to_have_text("delivered")
    expect(page.locator(f"#log tr[data-event='{arrival.event_id}'] .status")).to_have_text("204")
    row.locator("form.replay button").click()
    expect(page.locator(".notice")).to_have_text("1 event(s) queued to be sent again.")
    assert [a.event_id for a in _arrivals(receiver, 2)] == [arrival.event_id] * 2
    deadline = time.monotonic() + 20
    while page.locator(f"#log tr[data-event='{arrival.event_id}']").count() < 2:
        assert time.monotonic() < deadline, page.content()
        page.wait_for_timeout(300)
        page.goto("/console/webhooks")
    page.screenshot(path=console_platform.screenshots / "webhooks.png", full_page=True)  # the log is below
    console_platform.shared["pushed_voice_id"] = voice_id


def test_the_ledger_shows_the_top_up_and_the_calls_rows(
    customer_page: Page, console_platform: ConsolePlatform
) -> None:
    import httpx

    with httpx.Client(base_url=console_platform.served.base_url, timeout=10) as admin:
        answer = admin.post(
            f"/admin/accounts/{console_platform.api_key}/top-up",
            json={"amount": "2.5", "reference": "invoice 2026-12"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
    assert answer["status"] == "0", answer
    page = customer_page
    page.goto("/console/balance")
    top = page.locator("#ledger tbody tr").first
    expect(top.locator(".reference")).to_have_text("invoice 2026-12")
    expect(top.locator(".amount")).to_have_text("2.5000")
    expect(page.locator("#available")).to_contain_text(top.locator(".running").inner_text())
    voice_id = console_platform.shared["pushed_voice_id"]
    call_rows = page.locator(f"#ledger tr:has(a[href='/console/records/{voice_id}'])")
    expect(call_rows.first).to_be_visible()
    shot(page, console_platform, "balance")
    call_rows.first.locator("a").click()
    expect(page).to_have_url(f"{console_platform.served.base_url}/console/records/{voice_id}")
