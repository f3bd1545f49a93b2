"""The web console in a real browser, as a customer and an operator use it, in order: sign in, add
phones, watch one register, call from it and watch the call, find it in the records, play its
recording, export the filtered records, top up as the operator. Each page is photographed."""

import csv
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from sipline.domain.signing import compute_sign
from tests.browser.conftest import PASSWORD, VIEWPORT, ConsolePlatform
from tests.e2e.conftest import SIPLINE

# The steps run in order, in one process (README runs pytest-xdist with --dist loadfile): each leaves
# what the next one needs (`shared`).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.interop]
XSS = "<script>alert(1)</script><b>bold</b>"


def shot(page: Page, platform: ConsolePlatform, name: str) -> None:
    page.screenshot(path=platform.screenshots / f"{name}.png")


@pytest.fixture(scope="module")
def virtual_phones() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_sign_in_refuses_a_wrong_password_and_then_signs_in(
    browser: Browser, console_platform: ConsolePlatform
) -> None:
    context = browser.new_context(viewport=VIEWPORT, base_url=console_platform.served.base_url)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/console/dashboard")
    expect(page).to_have_url(f"{console_platform.served.base_url}/console/login")
    page.fill("input[name=email]", console_platform.customer)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_have_text("Wrong e-mail or password.")
    shot(page, console_platform, "login")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{console_platform.served.base_url}/console/dashboard")
    expect(page.locator("#balance")).to_have_text("10.0000 USD")
    cookie = next(c for c in context.cookies() if c["name"] == "sipline_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(customer_page: Page) -> None:
    page = customer_page
    page.goto("/console/credentials")
    page.evaluate("document.querySelector('#rotate input[name=csrf]').remove()")
    page.evaluate("document.getElementById('rotate').submit()")  # a plain post, as a forged form is
    expect(page.locator(".error")).to_contain_text("did not come from this console")
    page.goto("/console/credentials")
    expect(page.locator("#new-secret")).to_have_count(0)  # nothing rotated


def test_a_group_of_phones_is_added(customer_page: Page, console_platform: ConsolePlatform) -> None:
    page = customer_page
    page.goto("/console/phones")
    page.fill("input[name=group_name]", "front desk")
    page.fill("input[name=phone_name]", "desk")
    page.fill("input[name=quantity]", "2")
    page.fill("input[name=display_num]", "8610000000")
    page.click("#add-group button[type=submit]")
    expect(page.locator("#phones tbody tr")).to_have_count(2)
    expect(page.locator("#phones tbody tr .state").first).to_have_text("not registered")


def test_a_phone_registers_and_its_row_turns_registered_without_a_reload(
    customer_page: Page, console_platform: ConsolePlatform, virtual_phones: list[subprocess.Popen[bytes]]
) -> None:
    page = customer_page
    row = page.locator("#phones tbody tr").first
    account = row.get_attribute("data-account")
    assert account
    page.once("dialog", lambda dialog: dialog.accept())  # "Show this phone's SIP password on screen?"
    row.locator("button.reveal").click()
    password = row.locator(".secret").inner_text()
    page.evaluate("window.notReloaded = true")
    served = console_platform.served
    virtual_phones.append(
        subprocess.Popen(
            [
                *SIPLINE,
                "phone",
                "--account",
                account,
                "--password",
                password,
                "--server",
                f"127.0.0.1:{served.sip_port}",
                "--answer-after",
                "0.2",
            ],
            env=served.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    expect(row.locator(".state")).to_have_text("registered")
    expect(row.locator(".user-agent")).to_contain_text("sipline")
    assert page.evaluate("window.notReloaded") is True
    shot(page, console_platform, "phones")


def test_a_call_from_the_console_is_watched_live_and_hung_up(
    customer_page: Page, console_platform: ConsolePlatform
) -> None:
    page = customer_page
    row = page.locator("#phones tbody tr").first
    row.locator("input[name=callee]").fill("442079469000")  # the sandbox callee talks until hung up
    row.locator(".call button").click()
    expect(row.locator(".call-progress .state")).to_have_text("talking", timeout=20_000)
    voice_id = row.locator(".call-progress").get_attribute("data-voice-id")
    page.goto("/console/calls")
    live = page.locator(f"#live-calls tr[data-voice-id='{voice_id}']")
    expect(live.locator(".state")).to_have_text("talking")
    first = int(live.locator(".duration").inner_text().split()[0])
    page.wait_for_timeout(2100)
    assert int(live.locator(".duration").inner_text().split()[0]) >= first + 2  # ticking
    shot(page, console_platform, "calls")
    page.once("dialog", lambda dialog: dialog.accept())
    live.locator("button.hangup").click()
    expect(page.locator("#live-calls .empty")).to_be_visible(timeout=10_000)
    console_platform.shared["voice_id"] = str(voice_id)


def test_the_call_is_in_the_records_and_its_recording_plays(
    customer_page: Page, console_platform: ConsolePlatform
) -> None:
    page = customer_page
    voice_id = console_platform.shared["voice_id"]
    page.goto("/console/records")
    page.locator(f"a[href='/console/records/{voice_id}']").click()
    expect(page.locator(".state")).to_have_text("ended")
    deadline = time.monotonic() + 20
    while page.locator("#recording").count() == 0:  # encoded to mp3 after the hang-up
        assert time.monotonic() < deadline, page.content()
        page.wait_for_timeout(300)
        page.reload()
    playable = page.evaluate(
        """() => new Promise((resolve) => {
            const audio = document.getElementById("recording");
            const done = () => resolve({duration: audio.duration, ready: audio.readyState});
            if (audio.readyState >= 3) done(); else audio.addEventListener("canplay", done);
            audio.load();
        })"""
    )
    assert playable["duration"] > 0 and playable["ready"] >= 3
    shot(page, console_platform, "record")


def _signed_post(platform: ConsolePlatform, path: str, body: dict[str, str]) -> dict[str, object]:
    timestamp = str(int(time.time()))
    headers = {"Api-Key": platform.api_key, "Timestamp": timestamp,
               "Sign": compute_sign(platform.api_key, platform.api_secret, timestamp)}  # fmt: skip
    answer = httpx.post(f"{platform.served.base_url}/voice/{path}", json=body, headers=headers, timeout=10)
    return answer.json()  # type: ignore[no-any-return]


def test_the_csv_export_holds_exactly_the_filtered_calls_and_markup_stays_text(
    customer_page: Page, console_platform: ConsolePlatform
) -> None:
    page = customer_page
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto("/console/phones")
    account = page.locator("#phones tbody tr").first.get_attribute("data-account")
    assert account
    failed = _signed_post(
        console_platform, "sendSip",
        {"callee": "442079460404", "displayNum": "8610000000", "account": account,
         "appId": console_platform.app_id, "calledInfo": XSS},
    )  # fmt: skip
    assert failed["status"] == "0", failed
    page.goto("/console/records")
    expect(page.locator("#records tbody tr")).to_have_count(2)
    expect(page.locator("#records .called-info").first).to_have_text(XSS)  # as text, not markup
    page.check("input[name=answered]")
    page.click("#filters button[type=submit]")
    expect(page.locator("#records tbody tr")).to_have_count(1)
    shown = page.locator("#records tbody tr a").all_inner_texts()
    shot(page, console_platform, "records")
    with page.expect_download() as download:
        page.click("#csv")
    with open(download.value.path(), newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert [row["voiceId"] for row in rows] == shown == [console_platform.shared["voice_id"]]
    assert alerts == []


def test_an_operator_tops_up_and_the_customer_sees_it(
    customer_page: Page, operator_page: Page, console_platform: ConsolePlatform
) -> None:
    customer_page.goto("/console/dashboard")
    before = Decimal(customer_page.locator("#balance").inner_text().split()[0])
    page = operator_page
    page.goto("/console/operator/accounts")
    row = page.locator(f"#accounts tr[data-api-key='{console_platform.api_key}']")
    row.locator("input[name=amount]").fill("5")
    row.locator(".topup button").click()
    expect(row.locator(".balance")).to_have_text(f"{before + 5:.4f}")
    shot(page, console_platform, "operator-accounts")
    customer_page.reload()
    expect(customer_page.locator("#balance")).to_have_text(f"{before + 5:.4f} USD")
    expect(customer_page.locator("#calls-today")).to_have_text("2")
    shot(customer_page, console_platform, "dashboard")
    for name in ("apps", "users", "calls", "health"):
        page.goto(f"/console/operator/{name}")
        shot(page, console_platform, f"operator-{name}")
    expect(page.locator("#ready")).to_have_text("ready")
    customer_page.goto("/console/credentials")
    expect(customer_page.locator("#api-key")).to_have_text(console_platform.api_key)
    shot(customer_page, console_platform, "credentials")
