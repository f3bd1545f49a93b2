"""The operator's rate decks page over HTTP: versions listed, a CSV uploaded (multipart) and imported,
every bad line shown with nothing imported, the deck in effect and any version exported as CSV."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sipline.billing.deck_csv import parse_deck
from sipline.bootstrap import Platform
from tests.conftest import Customer
from tests.console.conftest import Console

RATES = "/console/operator/rates"
IMPORT = f"{RATES}/import"
MAX_BYTES = 4096
GOOD = (
    b"prefix,destination,rate,base_rate,period,connect_fee\n"
    b",World,0.0500,,60+60,\n"
    b"44,United Kingdom,0.0200,0.0300,20+20,0.0100\n"
    b"447,United Kingdom mobile,0.0900,,60+60,\n"
)
TWO_BAD = (
    b"prefix,destination,rate,base_rate,period,connect_fee\n"
    b"44,United Kingdom,0.0200,,20+20,\n"
    b"33,France,abc,,60+60,\n"
    b"49,Germany,0.0300,,60+60,\n"
    b"44,<b>Again</b>,0.0200,,sixty,\n"
)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rate_deck_max_bytes": MAX_BYTES}


def _csv(data: bytes, name: str = "deck.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"deck": (name, data, "text/csv")}


async def test_a_good_deck_is_imported_listed_and_exported_back(
    platform: Platform, operator: Console
) -> None:
    empty = await operator.get(RATES)
    assert empty.status_code == 200 and "No deck imported yet" in empty.text
    config = await operator.get(f"{RATES}/export")  # before any import: the config file's rates
    assert config.status_code == 200 and config.headers["x-rate-deck-version"] == "config"
    done = await operator.upload(IMPORT, _csv(GOOD))
    assert done.status_code == 303
    (version,) = await platform.decks.versions()
    assert done.headers["location"] == f"{RATES}?imported={version.id}"
    page = await operator.http.get(done.headers["location"])
    assert f"Version {version.id} imported: 3 lines" in page.text
    row = re.search(rf'<tr data-version="{version.id}">(.*?)</tr>', page.text, re.S)
    assert row and "the platform" in row.group(1) and "in effect" in row.group(1)
    exported = await operator.get(f"{RATES}/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert (
        exported.headers["content-disposition"] == f'attachment; filename="rates-platform-v{version.id}.csv"'
    )
    assert parse_deck(exported.content) == parse_deck(GOOD)
    by_id = await operator.get(f"{RATES}/export", version=str(version.id))
    assert by_id.content == exported.content
    rate = await platform.rate_book.find(0, "447700900123", datetime.now(UTC))  # what calls get now
    assert rate is not None and rate.per_minute == Decimal("0.0900")


async def test_an_account_deck_and_a_past_version_are_exported(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    assert (await operator.upload(IMPORT, _csv(GOOD))).status_code == 303
    newer = b"prefix,rate,period\n,0.0700,1+1\n"
    assert (await operator.upload(IMPORT, _csv(newer))).status_code == 303
    none_yet = await operator.get(f"{RATES}/export", account=customer.api_key)
    assert none_yet.status_code == 400 and "has no rate deck in effect then" in none_yet.text
    own = b"44,UK,0.0100,,1+1\n"
    assert (await operator.upload(IMPORT, _csv(own), {"account": customer.api_key})).status_code == 303
    first, second, third = await platform.decks.versions()
    assert (first.account, second.account, third.account) == (None, None, customer.api_key)
    page = (await operator.get(RATES)).text
    assert re.search(rf'<tr data-version="{first.id}">.*?replaced', page, re.S)
    assert parse_deck((await operator.get(f"{RATES}/export", version=str(first.id))).content) == parse_deck(
        GOOD
    )
    assert parse_deck((await operator.get(f"{RATES}/export")).content) == parse_deck(newer)
    mine = await operator.get(f"{RATES}/export", account=customer.api_key)
    assert parse_deck(mine.content) == parse_deck(own)
    only = (await operator.get(RATES, account=customer.api_key)).text
    assert f'data-version="{third.id}"' in only and f'data-version="{first.id}"' not in only
    missing = await operator.get(f"{RATES}/export", version="999999")
    assert missing.status_code == 400 and "rate deck version 999999 does not exist" in missing.text
    assert (await operator.get(RATES, account="nosuchkey")).status_code == 404


async def test_a_deck_with_two_bad_lines_shows_both_and_imports_nothing(
    platform: Platform, operator: Console
) -> None:
    refused = await operator.upload(IMPORT, _csv(TWO_BAD, "two-bad.csv"))
    assert refused.status_code == 400
    assert "two-bad.csv was refused: nothing was imported." in refused.text
    errors = re.findall(
        r'<li data-line="(\d+)"><strong class="line">line \d+</strong>: ([^<]*)</li>', refused.text
    )
    assert errors == [
        ("3", "rate &#39;abc&#39; is not a number"),
        ("5", "billing period &#39;sixty&#39; is not of the form FIRST+NEXT (seconds, e.g. 20+20)"),
    ]
    assert await platform.decks.versions() == []


async def test_more_than_a_hundred_errors_are_cut_with_a_count(platform: Platform, operator: Console) -> None:
    deck = b"".join(b"9x,,0.1,,60+60\n" for _ in range(150))
    refused = await operator.upload(IMPORT, _csv(deck, "<i>many</i>.csv"))
    assert refused.status_code == 400 and "&lt;i&gt;many&lt;/i&gt;.csv was refused" in refused.text
    assert refused.text.count('<strong class="line">') == 100 and "and 50 more" in refused.text
    assert await platform.decks.versions() == []


async def test_bad_imports_are_refused_with_a_reason(
    platform: Platform, operator: Console, customer: Customer
) -> None:
    for files, form, reason in [
        (_csv(b""), {}, "choose a CSV file to import"),
        ({}, {}, "choose a CSV file to import"),
        (_csv(GOOD), {"account": "nosuchkey"}, "apiKey &#39;nosuchkey&#39; does not exist"),
        (_csv(GOOD), {"effective_from": "tomorrow"}, "effectiveFrom must be an ISO 8601 time"),
        (_csv(GOOD), {"effective_from": "2026-12-03T00:00:00"}, "effectiveFrom must include a UTC offset"),
    ]:
        refused = await operator.upload(IMPORT, files, form)
        assert refused.status_code == 400 and reason in refused.text, (form, refused.text[-600:])
    assert await platform.decks.versions() == []


async def test_an_oversized_upload_is_refused_with_a_page(platform: Platform, operator: Console) -> None:
    big = GOOD + b"".join(b"%d,,0.1,,60+60\n" % n for n in range(1000, 1400))
    assert len(big) > MAX_BYTES
    refused = await operator.upload(IMPORT, _csv(big))
    assert refused.status_code == 413 and refused.headers["content-type"].startswith("text/html")
    assert "The upload is larger than this page accepts: nothing was saved." in refused.text

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: cut while it streams
        yield b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n' + operator.csrf.encode()
        yield b'\r\n--b\r\nContent-Disposition: form-data; name="deck"; filename="d.csv"\r\n\r\n'
        yield big
        yield b"\r\n--b--\r\n"

    streamed = await operator.http.post(
        IMPORT, content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413 and "larger than this page accepts" in streamed.text
    assert streamed.headers["content-type"].startswith("text/html")
    assert await platform.decks.versions() == []
    assert (await operator.upload(IMPORT, _csv(GOOD))).status_code == 303  # a deck within the limit


async def test_a_malformed_upload_is_refused_with_a_page(platform: Platform, operator: Console) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    garbage = await operator.http.post(IMPORT, content=b"--b\r\nno headers at all", headers=headers)
    assert garbage.status_code == 400 and "The form could not be read" in garbage.text
    fields = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % n for n in range(60)
    )
    many = await operator.http.post(IMPORT, content=fields + b"--b--\r\n", headers=headers)
    assert many.status_code == 400 and "too many fields" in many.text
    two = {"deck": ("a.csv", GOOD, "text/csv"), "other": ("b.csv", GOOD, "text/csv")}
    files = await operator.http.post(IMPORT, data={"csrf": operator.csrf}, files=two)
    assert files.status_code == 400 and "The form could not be read" in files.text
    assert await platform.decks.versions() == []


async def test_an_upload_without_the_csrf_token_is_refused(platform: Platform, operator: Console) -> None:
    refused = await operator.http.post(IMPORT, files=_csv(GOOD))
    assert refused.status_code == 403 and "did not come from this console" in refused.text
    assert await platform.decks.versions() == []


async def test_a_customer_gets_404_on_the_rates_pages(platform: Platform, signed_in: Console) -> None:
    assert (await signed_in.get(RATES)).status_code == 404
    assert (await signed_in.get(f"{RATES}/export")).status_code == 404
    assert (await signed_in.upload(IMPORT, _csv(GOOD))).status_code == 404
    assert await platform.decks.versions() == []


async def test_the_page_and_its_refusals_speak_the_users_language(operator: Console) -> None:
    chinese = {"Accept-Language": "zh-CN"}
    page = await operator.http.get(RATES, headers=chinese)
    assert "<h1>费率表</h1>" in page.text
    refused = await operator.http.post(
        IMPORT, data={"csrf": operator.csrf}, files=_csv(TWO_BAD, "two-bad.csv"), headers=chinese
    )
    assert refused.status_code == 400 and "two-bad.csv 被拒绝：未导入任何内容。" in refused.text
    assert '<strong class="line">第 3 行</strong>' in refused.text
    big = {"deck": ("big.csv", b"1,,0.1,,60+60\n" * 400, "text/csv")}
    too_large = await operator.http.post(IMPORT, data={"csrf": operator.csrf}, files=big, headers=chinese)
    assert too_large.status_code == 413 and "上传的文件超过本页面允许的大小" in too_large.text
