"""The records pages over HTTP: filters, paging, the CSV export of exactly the filtered calls, a
call's page with its recording (Range through the signed link), markup shown as text, and
another account's calls not found."""

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sipline.bootstrap import Platform
from tests.api.test_records import ANSWERED, insert
from tests.conftest import Api
from tests.console.conftest import PASSWORD, Console
from tests.recordings import recorded_call, stored

Browsers = Callable[..., Awaitable[Console]]
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
async def calls(api: Api, platform: Platform) -> datetime:
    """Five calls of the customer's over the last hours; the answered ones differ in length."""
    now = datetime.now(UTC).replace(microsecond=0)
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    answered = ANSWERED | {"recording_file_id": None}
    await insert(platform, api.customer, "2612020000000000001", now - timedelta(hours=5), **answered)
    await insert(
        platform,
        api.customer,
        "2612020000000000002",
        now - timedelta(hours=4),
        **answered | {"call_duration": 90},
    )
    await insert(
        platform,
        api.customer,
        "2612020000000000003",
        now - timedelta(hours=3),
        termination_code="486",
        hangup_time=now,
    )
    await insert(
        platform,
        api.customer,
        "2612020000000000004",
        now - timedelta(hours=2),
        group_name="group2",
        called_info=XSS,
    )
    await insert(platform, api.customer, "2612020000000000005", now - timedelta(days=3))
    return now


def _voice_ids(html: str) -> list[str]:
    return re.findall(r'href="/console/records/(\d{19})"', html)


async def test_filters_and_paging(calls: datetime, signed_in: Console) -> None:
    page = await signed_in.get("/console/records")
    assert _voice_ids(page.text) == [
        f"261202000000000000{n}" for n in (4, 3, 2, 1)
    ]  # last 24 h, newest first
    answered = await signed_in.get("/console/records", answered="1")
    assert _voice_ids(answered.text) == ["2612020000000000002", "2612020000000000001"]
    long_ones = await signed_in.get("/console/records", answered="1", min_duration="60")
    assert _voice_ids(long_ones.text) == ["2612020000000000002"]
    assert _voice_ids((await signed_in.get("/console/records", code="486")).text) == ["2612020000000000003"]
    assert _voice_ids((await signed_in.get("/console/records", group="group2")).text) == [
        "2612020000000000004"
    ]
    start = (calls - timedelta(days=4)).isoformat()
    all_five = await signed_in.get("/console/records", start=start, end=calls.isoformat())
    assert len(_voice_ids(all_five.text)) == 5 and "5 call(s)" in all_five.text


async def test_paging_walks_the_window(platform: Platform, api: Api, signed_in: Console) -> None:
    now = datetime.now(UTC)
    for n in range(55):
        await insert(platform, api.customer, f"26120201{n:011d}", now - timedelta(minutes=n + 1))
    first = await signed_in.get("/console/records")
    second = await signed_in.get("/console/records", page="2")
    assert len(_voice_ids(first.text)) == 50 and len(_voice_ids(second.text)) == 5
    assert not set(_voice_ids(first.text)) & set(_voice_ids(second.text))
    assert "page 2 of 2" in second.text


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"start": "yesterday"}, "Filters not applied"),
        ({"start": "2026-01-01T00:00:00+00:00", "end": "2026-03-01T00:00:00+00:00"}, "longer than 31 days"),
        ({"min_duration": "-5"}, "minimum duration must be a whole number"),
        ({"page": "99999999999999999999"}, "page must be a whole number"),
    ],
)
async def test_bad_filters_are_said_and_the_default_window_shown(
    calls: datetime, signed_in: Console, params: dict[str, str], reason: str
) -> None:
    page = await signed_in.get("/console/records", **params)
    assert page.status_code == 200 and reason in page.text
    assert len(_voice_ids(page.text)) == 4


async def test_the_csv_holds_exactly_the_filtered_calls(calls: datetime, signed_in: Console) -> None:
    response = await signed_in.get("/console/records.csv", answered="1")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["voiceId"] for row in rows] == ["2612020000000000002", "2612020000000000001"]
    assert rows[0]["callDuration"] == "90" and rows[0]["cost"] == "0.4000" and rows[0]["digits"] == "1"
    everything = list(csv.DictReader(io.StringIO((await signed_in.get("/console/records.csv")).text)))
    assert len(everything) == 4
    assert next(r for r in everything if r["voiceId"].endswith("4"))["calledInfo"] == XSS  # not a formula


async def test_markup_is_shown_as_text(calls: datetime, signed_in: Console) -> None:
    for path in ("/console/records", "/console/records/2612020000000000004"):
        html = (await signed_in.get(path)).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "<script>alert" not in html and "<img src=x" not in html


async def test_a_calls_page_shows_its_timeline_cost_and_digits(calls: datetime, signed_in: Console) -> None:
    page = await signed_in.get("/console/records/2612020000000000001")
    assert page.status_code == 200
    text = page.text
    assert "answered <time>2026-11-20T06:42:50+00:00</time>" in text
    assert "0.4000 EUR" in text and "20+20" in text and '<p id="digits">1</p>' in text
    assert "This call has no recording." in text


async def test_the_recording_plays_from_its_signed_link_with_range(
    platform: Platform, api: Api, signed_in: Console
) -> None:
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    recording_id, mp3 = await recorded_call(platform, api.customer)
    voice_id = (await stored(platform, recording_id)).voice_id
    page = await signed_in.get(f"/console/records/{voice_id}")
    audio = re.search(r'<audio id="recording" controls preload="metadata" src="([^"]+)"', page.text)
    assert audio, page.text
    url = audio.group(1).replace("&amp;", "&")
    assert url.startswith(f"/recordings/{recording_id}.mp3?expires=")
    part = await signed_in.http.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == mp3.read_bytes()[:100]


async def test_another_accounts_calls_are_not_found(
    platform: Platform, calls: datetime, signed_in: Console, browsers: Browsers
) -> None:
    other = await platform.tenancy.create_account(balance=Decimal(1))
    await platform.tenancy.create_app(other.api_key)
    await platform.console_users.create("mallory@example.com", PASSWORD, api_key=other.api_key)
    mallory = await browsers()
    await mallory.sign_in("mallory@example.com")
    start = (calls - timedelta(days=4)).isoformat()
    assert _voice_ids((await mallory.get("/console/records", start=start)).text) == []
    assert (
        list(csv.DictReader(io.StringIO((await mallory.get("/console/records.csv", start=start)).text))) == []
    )
    for path in (
        "/console/records/2612020000000000001",
        "/console/records/not-a-voice-id",
        "/console/calls/2612020000000000001/progress",
    ):
        response = await mallory.get(path)
        assert response.status_code == 404 and "There is nothing here." in response.text, path
    assert (await mallory.htmx("/console/calls/2612020000000000001/hangup")).status_code == 404
