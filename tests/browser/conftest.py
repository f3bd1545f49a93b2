"""Browser tests of the web console: a real `sipline serve` process, Debian's chromium driven by
Playwright (no browser download), one browser for the whole session.

Screenshots go to a temporary folder, or to docs/console/ with SIPLINE_CONSOLE_SCREENSHOTS=1 (how the
pictures in docs/console.md are made).
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import REPO
from tests.console.conftest import admin_account
from tests.e2e.conftest import SIPLINE, Served
from tests.peers import require

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

    def users(self, *users: tuple[str, ...]) -> None:
        """`sipline admin user create EMAIL ROLE...` for each, at once."""
        runs = [
            subprocess.Popen(
                [*SIPLINE, "admin", "user", "create", *user, "--password-stdin"],
                env=self.served.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for user in users
        ]
        for run in runs:
            output, _ = run.communicate(PASSWORD.encode() + b"\n", timeout=60)
            assert run.returncode == 0, output


@contextmanager
def serving_console(tmp: Path, env: dict[str, str] | None = None) -> Iterator[ConsolePlatform]:
    """`sipline serve` (with these extra environment settings), an account, its customer user and an
    operator."""
    served = Served(tmp, f"sqlite:///{tmp / 'sipline.db'}")
    served.env["SIPLINE_PUSH_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the webhooks page's receiver
    served.env |= env or {}
    served.start()
    try:
        account, app = admin_account(served)
        if os.environ.get("SIPLINE_CONSOLE_SCREENSHOTS"):
            screenshots = REPO / "docs" / "console"
        else:
            screenshots = tmp / "screenshots"
        screenshots.mkdir(exist_ok=True)
        platform = ConsolePlatform(
            served, str(account["apiKey"]), str(account["apiSecret"]), str(app["appId"]),
            "alice@example.com", "root@example.com", screenshots,
        )  # fmt: skip
        platform.users((platform.customer, "--account", platform.api_key), (platform.operator, "--operator"))
        yield platform
    finally:
        served.stop()


@pytest.fixture(scope="session")
def console_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePlatform]:
    with serving_console(tmp_path_factory.mktemp("console")) as platform:
        yield platform


# A loaded machine (the suite runs peers beside the browser) is slow to start a phone process.
expect.set_options(timeout=15_000)


# Module-scoped, not session-scoped: Playwright's sync API runs an event loop in this thread while
# it is open, and the asyncio tests that run after this module (in the same process) need none.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require("chromium")  # Debian's (/usr/bin/chromium): Playwright downloads no browser
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
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
