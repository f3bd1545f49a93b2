"""Browser tests of the web console: a real `sipline serve` process, Debian's chromium driven by
Playwright (no browser download), one browser for the whole session.

Screenshots go to a temporary folder, or to docs/console/ with SIPLINE_CONSOLE_SCREENSHOTS=1 (how the
pictures in docs/console.md are made).
"""

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import REPO
from tests.e2e.conftest import SIPLINE, Served

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
VIEWPORT = {"width": 1180, "height": 760}


@dataclass
class ConsolePlatform:
    served: Served
    api_key: str
    api_secret: str
    app_id: str
    customer: str  # e-mail of the customer's console user
    operator: str
    screenshots: Path
    shared: dict[str, str] = field(default_factory=dict)  # what one step leaves for the next

    def user(self, email: str, *role: str) -> None:
        command = [*SIPLINE, "admin", "user", "create", email, *role, "--password-stdin"]
        run = {"input": PASSWORD + "\n", "text": True, "capture_output": True, "timeout": 60, "check": True}
        subprocess.run(command, env=self.served.env, **run)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def console_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePlatform]:
    tmp = tmp_path_factory.mktemp("console")
    served = Served(tmp, f"sqlite:///{tmp / 'sipline.db'}")
    served.start()
    try:
        account = served.admin_json("account", "create", "--name", "Acme", "--balance", "10")
        app = served.admin_json("app", "create", "--api-key", str(account["apiKey"]), "--phone-limit", "20")
        if os.environ.get("SIPLINE_CONSOLE_SCREENSHOTS"):
            screenshots = REPO / "docs" / "console"
        else:
            screenshots = tmp / "screenshots"
        screenshots.mkdir(exist_ok=True)
        platform = ConsolePlatform(
            served, str(account["apiKey"]), str(account["apiSecret"]), str(app["appId"]),
            "alice@example.com", "root@example.com", screenshots,
        )  # fmt: skip
        platform.user(platform.customer, "--account", platform.api_key)
        platform.user(platform.operator, "--operator")
        yield platform
    finally:
        served.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def signed_in_page(browser: Browser, platform: ConsolePlatform, email: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT, base_url=platform.served.base_url)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/console/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture(scope="module")
def customer_page(browser: Browser, console_platform: ConsolePlatform) -> Iterator[Page]:
    page = signed_in_page(browser, console_platform, console_platform.customer)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def operator_page(browser: Browser, console_platform: ConsolePlatform) -> Iterator[Page]:
    page = signed_in_page(browser, console_platform, console_platform.operator)
    yield page
    page.context.close()
