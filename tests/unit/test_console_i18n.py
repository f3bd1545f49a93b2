"""The console's languages: the catalogs are complete (every string translated into Chinese), the
browser's Accept-Language is negotiated, times are shown in the user's zone, zones are checked."""

import contextvars
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog

from sipline.console import catalogs, i18n
from sipline.console.i18n import negotiate
from sipline.console.text import _
from sipline.console.web import environment
from sipline.domain.errors import ApiError
from sipline.services.console_users import check_language, check_time_zone

SUMMER = datetime(2026, 7, 1, 12, 0, 5, tzinfo=UTC)


def test_the_catalogs_hold_every_string_and_chinese_translates_each() -> None:
    assert catalogs.main(["--check"]) == 0


def test_the_check_finds_a_string_missing_from_the_catalogs() -> None:
    template = catalogs.extract()
    template.add("A page nobody has translated yet", locations=[("templates/new.html", 1)])
    problems = catalogs.problems(template, "zh_CN")
    assert problems == ["zh_CN: missing 'A page nobody has translated yet'"]
    assert catalogs.problems(template, "en") == ["en: missing 'A page nobody has translated yet'"]


def test_the_check_finds_untranslated_fuzzy_and_mismatched_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(locale="zh_CN")
    catalog.add("Balance", "")
    catalog.add("Sign in", "登录", flags=["fuzzy"])
    catalog.add("%(total)s call(s).", "共 %(count)s 通", flags=["python-format"])
    catalog.add("{n} event(s) queued to be sent again.", "已将 {count} 个事件加入队列。")
    template = Catalog()
    for message_id in ("Balance", "Sign in", "%(total)s call(s).", "{n} event(s) queued to be sent again."):
        template.add(message_id)
    monkeypatch.setattr(catalogs, "_read", lambda language: catalog)
    found = "\n".join(catalogs.problems(template, "zh_CN"))
    assert "untranslated 'Balance'" in found and "fuzzy 'Sign in'" in found and "%(total)s call(s)." in found
    assert "'{n} event(s) queued to be sent again.': the translation's {placeholders} differ" in found


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("ZH", "zh_CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh;q=0.5", "zh_CN"),
        ("fr-FR, de", "en"),
        ("en;q=0.2, zh;q=0.7", "zh_CN"),
        ("zh;q=0", "en"),
        ("zh;q=nonsense, en", "en"),
        ("*", "en"),
        ("", "en"),
        ("x" * 10_000 + ",zh", "en"),  # only the header's first 512 characters are read
    ],
)
def test_the_browsers_language_is_negotiated(header: str, language: str) -> None:
    assert negotiate(header) == language


def test_python_text_is_in_the_language_of_the_request_being_served() -> None:
    def serve(language: str) -> list[str]:
        i18n._language.set(language)  # as use_language does for a request
        return [_("Wrong e-mail or password."), _("{n} event(s) queued to be sent again.").format(n=7)]

    assert contextvars.copy_context().run(serve, "zh_CN") == [
        "电子邮箱或密码错误。",
        "已将 7 个事件加入重新推送队列。",
    ]
    assert contextvars.copy_context().run(serve, "en") == [
        "Wrong e-mail or password.",
        "7 event(s) queued to be sent again.",
    ]
    assert _("Wrong e-mail or password.") == "Wrong e-mail or password."  # outside a request: English
    unknown = contextvars.copy_context().run(lambda: (serve("zh_CN"), _("a string no catalog has"))[1])
    assert unknown == "a string no catalog has"  # shown as written


def test_the_iso_filter_shows_the_time_in_the_users_zone_with_its_offset() -> None:
    page = environment("en").from_string("{{ t|iso }}|{{ none|iso }}")
    assert page.render(t=SUMMER, none=None) == "2026-07-01T12:00:05+00:00|"  # no zone: UTC
    assert page.render(t=SUMMER, zone=ZoneInfo("Asia/Shanghai")) == "2026-07-01T20:00:05+08:00|"
    assert page.render(t=SUMMER, zone=ZoneInfo("Europe/Paris")) == "2026-07-01T14:00:05+02:00|"  # summer time
    assert page.render(t=SUMMER, zone=ZoneInfo("Asia/Kolkata")) == "2026-07-01T17:30:05+05:30|"


def test_the_templates_speak_the_environments_language() -> None:
    page = '{{ _("Sign in") }} {{ _("%(total)s call(s).", total=3) }} {{ "talking"|call_state }}'
    assert environment("zh_CN").from_string(page).render() == "登录 共 3 通通话。 通话中"
    assert environment("en").from_string(page).render() == "Sign in 3 call(s). talking"
    assert environment("zh_CN") is environment("zh_CN")  # built once per language


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Argentina/Buenos_Aires", " Europe/Paris "])
def test_iana_zones_are_accepted(zone: str) -> None:
    assert check_time_zone(zone) == zone.strip()


@pytest.mark.parametrize(
    "zone",
    ["", "Mars/Olympus_Mons", "asia/shanghai", "../../etc/passwd", "/etc/localtime", "A" * 5000, "+08:00"],
)
def test_other_zones_are_refused(zone: str) -> None:
    with pytest.raises(ApiError, match="time zone must be an IANA name"):
        check_time_zone(zone)


@pytest.mark.parametrize("language", ["fr", "zh", "zh-CN", "", "EN"])
def test_only_the_consoles_languages_are_accepted(language: str) -> None:
    with pytest.raises(ApiError, match="language must be one of en, zh_CN"):
        check_language(language)
