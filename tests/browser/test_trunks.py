"""The operator's trunks and health pages in a real browser: a platform with the sandbox carrier (up)
and two trunks where nothing listens (down after one ping here), the table refreshing itself without a
reload, and the health page's small charts drawn. Both pages are photographed."""

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ConsolePlatform, serving_console, signed_in_page
from tests.conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.interop]
SECRET = "never-in-the-page"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture(scope="module")
def trunks_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePlatform]:
    trunks = {
        "carrier": f"sip:acme:{SECRET}@127.0.0.1:{free_port()};transport=tcp",  # connection refused
        "backup": f"sip:127.0.0.1:{free_port()}",  # UDP: no answer
    }
    env = {
        "SIPLINE_TRUNKS": json.dumps(trunks),
        "SIPLINE_TRUNK_PING_INTERVAL": "5",  # the least allowed
        "SIPLINE_TRUNK_PING_TIMEOUT": "1",
        "SIPLINE_TRUNK_DOWN_AFTER": "1",
        "SIPLINE_HEALTH_SAMPLE_INTERVAL": "1",
    }
    with serving_console(tmp_path_factory.mktemp("trunks"), env) as platform:
        yield platform


@pytest.fixture(scope="module")
def operator(browser: Browser, trunks_platform: ConsolePlatform) -> Iterator[Page]:
    page = signed_in_page(browser, trunks_platform, trunks_platform.operator)
    yield page
    page.context.close()


def test_the_trunks_page_shows_each_trunk_and_refreshes_without_a_reload(
    operator: Page, trunks_platform: ConsolePlatform
) -> None:
    page = operator
    page.goto("/console/operator/health")
    page.get_by_role("link", name="Trunks", exact=True).first.click()  # the navigation's link
    expect(page).to_have_url(re.compile(r"/console/operator/trunks$"))
    sandbox = page.locator("tr[data-trunk=sandbox]")
    expect(sandbox.locator(".state")).to_have_text("up")
    expect(sandbox.locator(".status")).to_have_text("200")
    expect(sandbox.locator(".rtt")).to_have_text(re.compile(r"^\d+(\.\d)? ms$"))
    carrier, backup = page.locator("tr[data-trunk=carrier]"), page.locator("tr[data-trunk=backup]")
    expect(carrier.locator(".state")).to_have_text("down")
    expect(carrier.locator(".status")).to_have_text("(unreachable)")
    expect(carrier.locator(".transport")).to_have_text("TCP")
    expect(backup.locator(".state")).to_have_text("down")
    expect(backup.locator(".status")).to_have_text("(no answer in time)")
    last_ping = sandbox.locator(".last-ping").inner_text()
    assert ISO_WITH_OFFSET.match(last_ping), last_ping
    assert SECRET not in page.content() and "acme" not in page.content()
    page.evaluate("window.notReloaded = true")
    expect(sandbox.locator(".last-ping")).not_to_have_text(last_ping, timeout=30_000)  # the next round
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the table, the page stayed
    expect(carrier.locator(".failures")).not_to_have_text("1", timeout=30_000)
    page.screenshot(path=trunks_platform.screenshots / "trunks.png")


def test_the_health_page_draws_its_charts_and_shows_the_trunks(
    operator: Page, trunks_platform: ConsolePlatform
) -> None:
    page = operator
    page.goto("/console/operator/health")
    expect(page.locator("#ready")).to_have_text("ready")  # two trunks down: still ready
    expect(page.locator("#trunks-summary")).to_contain_text("1 of 3 trunks up")
    expect(page.locator("#health-charts canvas")).to_have_count(4)
    for chart in ("calls", "media", "phones", "lag"):
        expect(page.locator(f"#chart-{chart} canvas")).to_be_visible()
    samples = json.loads(page.locator("#health-chart-data").text_content() or "{}")
    assert len(samples["at"]) >= 5 and len(samples["lag"]) == len(samples["at"])  # a sample a second
    page.screenshot(path=trunks_platform.screenshots / "health.png", full_page=True)  # the charts too
