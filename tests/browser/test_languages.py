"""The console in Chinese in a real browser: the login page in the browser's language, the header's
switch, then the settings page (简体中文, Asia/Shanghai) and every page in Chinese with +08:00 times.
Photographs the settings page and the records in Chinese."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from sipline.store.models import Account, App, CallRecord
from tests.browser.conftest import PASSWORD, VIEWPORT, ConsolePlatform

pytestmark = [pytest.mark.browser, pytest.mark.slow]
USER = "li.lei@example.com"  # a user of its own: the other modules' users keep English
SUBMITTED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def shot(page: Page, platform: ConsolePlatform, name: str) -> None:
    page.screenshot(path=platform.screenshots / f"{name}.png")


def _shanghai(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).replace(tzinfo=None).isoformat() + "+08:00"


@pytest.fixture(scope="module")
def chinese_user(console_platform: ConsolePlatform) -> Iterator[str]:
    """A customer user of the account, and one answered call in its records (written as the platform
    writes them, in its database)."""
    console_platform.users((USER, "--account", console_platform.api_key))
    engine = create_engine(console_platform.served.env["SIPLINE_DATABASE_URL"])
    with Session(engine) as session:
        account_id = session.scalar(select(Account.id).where(Account.api_key == console_platform.api_key))
        app_pk = session.scalar(select(App.id).where(App.app_id == console_platform.app_id))
        assert account_id is not None and app_pk is not None
        session.add(
            CallRecord(
                voice_id=SUBMITTED.strftime("%y%m%d") + "9000000000001",
                account_id=account_id,
                app_pk=app_pk,
                group_name="前台",
                phone_name="desk-1",
                phone_account="8000000001",
                callee="8613800138000",
                display_num="8610000000",
                submit_time=SUBMITTED,
                answer_time=SUBMITTED + timedelta(seconds=6),
                hangup_time=SUBMITTED + timedelta(seconds=96),
                call_duration=90,
                charged_duration=120,
                termination_code="200",
                termination_reason="normal hang-up",
                cost=Decimal("0.1200"),
                currency="USD",
            )
        )
        session.commit()
    engine.dispose()
    yield USER


def test_the_login_page_is_in_the_browsers_language(
    browser: Browser, console_platform: ConsolePlatform
) -> None:
    context = browser.new_context(
        viewport=VIEWPORT, base_url=console_platform.served.base_url, locale="zh-CN"
    )  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/console/login")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("label").first).to_contain_text("电子邮箱")
    context.close()


def test_switching_to_chinese_shows_chinese_text_and_shanghai_times(
    browser: Browser, console_platform: ConsolePlatform, chinese_user: str
) -> None:
    context = browser.new_context(
        viewport=VIEWPORT, base_url=console_platform.served.base_url, locale="en-US"
    )  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/console/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.click("#languages a:text('简体中文')")  # the header's switch, before sign-in
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("input[name=email]", chinese_user)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("概览")
    expect(page.locator("#today-zone")).to_contain_text("UTC")  # no zone chosen yet

    page.click("#settings-link")
    expect(page.locator("h1")).to_have_text("设置")
    page.select_option("select[name=language]", "zh_CN")
    page.fill("input[name=time_zone]", "Mars/Olympus_Mons")
    page.click("#settings button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Mars/Olympus_Mons 不是有效的时区")
    page.fill("input[name=time_zone]", "Asia/Shanghai")
    page.click("#settings button[type=submit]")
    expect(page.locator("#saved")).to_have_text("已保存。")
    expect(page.locator("#now")).to_contain_text("+08:00")
    shot(page, console_platform, "settings")

    page.click("nav a[href='/console/dashboard']")
    expect(page.locator("h1")).to_have_text("概览")
    expect(page.locator("#today-zone")).to_contain_text("Asia/Shanghai")
    expect(page.locator(".tile span").first).to_have_text("余额")
    expect(page.locator("#chart-hours .u-legend")).to_contain_text("已接通")  # drawn, in Shanghai's hours
    expect(page.locator("#chart-days .u-legend")).to_contain_text("消费")

    page.click("nav a[href='/console/records']")
    expect(page.locator("h1")).to_have_text("通话记录")
    expect(page.locator("input[name=start]")).to_have_value(re.compile(r"\+08:00$"))
    row = page.locator("#records tbody tr", has_text="前台")
    expect(row.locator("td").nth(1)).to_have_text(_shanghai(SUBMITTED))
    expect(row.locator("td").nth(6)).to_have_text("已结束")
    expect(page.locator("#records thead")).to_contain_text("提交时间")
    shot(page, console_platform, "records_zh")

    row.locator("a").click()
    expect(page.locator(".timeline")).to_contain_text(f"已接通 {_shanghai(SUBMITTED + timedelta(seconds=6))}")
    context.close()
