"""The console's languages and time zones over HTTP: the browser's Accept-Language and the header's
switch before sign-in, the settings page (language and zone saved on the user, checked, CSRF), and
then every page in Chinese with times in the user's zone."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sipline.bootstrap import Platform
from sipline.services.auth import Caller
from tests.api.test_records import insert
from tests.conftest import Api
from tests.console.conftest import PASSWORD, Console

SUBMITTED = datetime(2026, 12, 1, 23, 30, 15, tzinfo=UTC)  # 07:30 on 2 December in Shanghai
VOICE_ID = "2612010000000000001"
Browsers = Callable[..., Awaitable[Console]]


async def _preferences(platform: Platform, email: str = "alice@example.com") -> tuple[str | None, str | None]:
    user = next(user for user in await platform.console_users.list() if user.email == email)
    return user.language, user.time_zone


async def test_the_login_page_speaks_the_browsers_language(browsers: Browsers) -> None:
    console = await browsers()
    chinese = await console.http.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert chinese.status_code == 200
    assert '<html lang="zh-CN">' in chinese.text and "<h1>登录</h1>" in chinese.text
    assert "电子邮箱" in chinese.text and "Sign in" not in chinese.text
    english = await console.http.get("/console/login", headers={"Accept-Language": "fr-FR,de;q=0.8"})
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
    plain = await console.http.get("/console/login")  # no header: English
    assert "<h1>Sign in</h1>" in plain.text


async def test_a_wrong_password_is_said_in_chinese(
    platform: Platform, signed_in: Console, browsers: Browsers
) -> None:
    console = await browsers()
    page = await console.http.get("/console/login", headers={"Accept-Language": "zh"})
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    wrong = await console.http.post(
        "/console/login",
        data={"csrf": token, "email": "alice@example.com", "password": "not the password"},
        headers={"Accept-Language": "zh"},
    )
    assert wrong.status_code == 401 and "电子邮箱或密码错误。" in wrong.text


async def test_the_headers_switch_sets_the_language_before_sign_in(browsers: Browsers) -> None:
    console = await browsers()
    login = await console.http.get("/console/login")
    assert 'href="/console/language?to=zh_CN&amp;next=/console/login"' in login.text
    switched = await console.http.get("/console/language", params={"to": "zh_CN", "next": "/console/login"})
    assert switched.status_code == 303 and switched.headers["location"] == "/console/login"
    assert (
        "lang=zh_CN" in switched.headers["set-cookie"] and "Path=/console" in switched.headers["set-cookie"]
    )
    page = await console.http.get("/console/login", headers={"Accept-Language": "en"})  # the cookie wins
    assert "<h1>登录</h1>" in page.text and '<strong aria-current="true">简体中文</strong>' in page.text
    missing = await console.http.get("/console/nothing-here")
    assert missing.status_code == 404 and "这里什么也没有。" in missing.text
    back = await console.http.get("/console/language", params={"to": "en", "next": "/console/login"})
    assert "lang=en" in back.headers["set-cookie"]
    assert "<h1>Sign in</h1>" in (await console.http.get("/console/login")).text


@pytest.mark.parametrize(
    "target", ["//evil.example/console", "https://evil.example/", "/console\\..", "/other", ""]
)
async def test_the_switch_goes_back_to_console_pages_only(browsers: Browsers, target: str) -> None:
    console = await browsers()
    switched = await console.http.get("/console/language", params={"to": "zh_CN", "next": target})
    assert switched.headers["location"] == "/console/login"


async def test_an_unknown_language_sets_no_cookie(browsers: Browsers) -> None:
    console = await browsers()
    switched = await console.http.get("/console/language", params={"to": "fr", "next": "/console/login"})
    assert switched.status_code == 303 and "set-cookie" not in switched.headers


async def _calls(platform: Platform, api: Api) -> Caller:
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    await insert(
        platform,
        api.customer,
        VOICE_ID,
        SUBMITTED,
        answer_time=SUBMITTED + timedelta(seconds=10),
        hangup_time=SUBMITTED + timedelta(seconds=70),
        call_duration=60,
        termination_code="200",
        cost=Decimal("0.5"),
    )
    auth = await platform.directory.auth_record(api.customer.api_key)
    assert auth is not None
    return Caller(auth.account_id, api.customer.api_key)


async def test_the_settings_save_language_and_zone_and_every_page_follows(
    platform: Platform, api: Api, signed_in: Console
) -> None:
    await _calls(platform, api)
    before = await signed_in.get("/console/records", start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z")
    assert "2026-12-01T23:30:15+00:00" in before.text and "Call records" in before.text
    page = await signed_in.get("/console/settings")
    assert (
        page.status_code == 200
        and 'value="UTC"' in page.text
        and '<option value="Asia/Shanghai">' in page.text
    )
    saved = await signed_in.post("/console/settings", {"language": "zh_CN", "time_zone": "Asia/Shanghai"})
    assert saved.status_code == 303 and saved.headers["location"] == "/console/settings?saved=1"
    assert await _preferences(platform) == ("zh_CN", "Asia/Shanghai")
    settings = await signed_in.get("/console/settings", saved="1")
    assert "已保存。" in settings.text and 'value="Asia/Shanghai"' in settings.text
    assert '<option value="zh_CN" selected>简体中文</option>' in settings.text and "+08:00" in settings.text

    dashboard = await signed_in.http.get("/console/dashboard", headers={"Accept-Language": "en"})
    assert (
        '<html lang="zh-CN">' in dashboard.text and "余额" in dashboard.text and "今日通话" in dashboard.text
    )
    assert "Asia/Shanghai" in dashboard.text
    records = await signed_in.get("/console/records", start="2026-12-02T00:00:00", end="2026-12-03T00:00:00")
    assert "通话记录" in records.text and "共 1 通通话。" in records.text  # the naive times are Shanghai's
    assert f'<a href="/console/records/{VOICE_ID}">{VOICE_ID}</a>' in records.text
    assert "<td>2026-12-02T07:30:15+08:00</td>" in records.text and "已结束" in records.text
    record = await signed_in.get(f"/console/records/{VOICE_ID}")
    assert "已接通 <time>2026-12-02T07:30:25+08:00</time>" in record.text and "时间线" in record.text
    assert "<h2>录音</h2>" in record.text and "此通话没有录音。" in record.text


async def test_the_dashboards_today_is_the_users_day(platform: Platform, api: Api) -> None:
    caller = await _calls(platform, api)
    now = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, the call at 07:30 the same day
    utc = await platform.dashboard.dashboard(caller, now=now)
    shanghai = await platform.dashboard.dashboard(caller, now=now, zone=ZoneInfo("Asia/Shanghai"))
    assert utc.today.calls == 0 and shanghai.today.calls == 1  # in UTC the call was yesterday's
    assert shanghai.days[-1].day == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Shanghai's midnight
    assert [day.spend for day in shanghai.days[-1:]] == [Decimal("0.5")] and utc.days[-2].spend == Decimal(
        "0.5"
    )
    hour = next(bucket for bucket in shanghai.hours if bucket.answered)
    assert hour.hour == SUBMITTED.replace(minute=0, second=0) and len(shanghai.hours) == 24
    kolkata = await platform.dashboard.dashboard(caller, now=now, zone=ZoneInfo("Asia/Kolkata"))  # +05:30
    assert kolkata.hours[-1].hour == datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 21:00 there
    assert kolkata.today.calls == 1  # 05:00 on 2 December in Kolkata


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"language": "zh_CN", "time_zone": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons is not a time zone"),
        ({"language": "zh_CN", "time_zone": "x" * 5000}, "is not a time zone"),
        ({"language": "zh_CN", "time_zone": ""}, "is not a time zone"),
        ({"language": "klingon", "time_zone": "Asia/Shanghai"}, "Choose English or Simplified Chinese."),
        ({"time_zone": "Asia/Shanghai"}, "Choose English or Simplified Chinese."),
    ],
)
async def test_bad_settings_are_refused_and_nothing_saved(
    platform: Platform, signed_in: Console, form: dict[str, str], reason: str
) -> None:
    refused = await signed_in.post("/console/settings", form)
    assert refused.status_code == 400 and reason in refused.text and 'role="alert"' in refused.text
    assert "set-cookie" not in refused.headers
    assert await _preferences(platform) == (None, None)


async def test_settings_without_the_csrf_token_are_refused(platform: Platform, signed_in: Console) -> None:
    form = {"language": "zh_CN", "time_zone": "Asia/Shanghai"}
    refused = await signed_in.post("/console/settings", form, csrf=False)
    assert refused.status_code == 403 and "did not come from this console" in refused.text
    forged = await signed_in.post("/console/settings", {**form, "csrf": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert await _preferences(platform) == (None, None)


async def test_settings_need_sign_in_and_operators_have_them_too(
    platform: Platform, browsers: Browsers
) -> None:
    anonymous = await browsers()
    assert (await anonymous.get("/console/settings")).headers["location"] == "/console/login"
    await platform.console_users.create("root@example.com", PASSWORD, operator=True)
    operator = await browsers()
    assert (await operator.sign_in("root@example.com")).status_code == 303
    saved = await operator.post("/console/settings", {"language": "zh_CN", "time_zone": "Europe/Paris"})
    assert saved.status_code == 303
    accounts = await operator.get("/console/operator/accounts")
    assert "<h1>账户</h1>" in accounts.text and 'id="settings-link">设置</a>' in accounts.text
    users = await operator.get("/console/operator/users")
    assert "+01:00</td>" in users.text  # created, in Paris's winter time
    assert await _preferences(platform, "root@example.com") == ("zh_CN", "Europe/Paris")


async def test_the_money_pages_speak_chinese_too(platform: Platform, signed_in: Console) -> None:
    saved = await signed_in.post("/console/settings", {"language": "zh_CN", "time_zone": "Asia/Shanghai"})
    assert saved.status_code == 303
    balance = await signed_in.get("/console/balance")
    assert "<h1>余额与账目明细</h1>" in balance.text and "Asia/Shanghai" in balance.text
    bad = await signed_in.get("/console/balance", start="yesterday")
    assert bad.status_code == 400
    assert "时间范围未生效：&#39;yesterday&#39; 不是 ISO 8601 格式的时间" in bad.text
    webhooks = await signed_in.get("/console/webhooks")
    assert "<h1>推送通知</h1>" in webhooks.text
    assert "通话结束报告" in webhooks.text and "被叫已接听" in webhooks.text  # labels made in Python
    records = await signed_in.get("/console/records", min_duration="-5")
    assert "筛选条件未生效：最短时长必须是 0-86400 之间的整数" in records.text
