"""The dashboard's figures and chart data, from aggregate queries over the account's records."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sipline.bootstrap import Platform
from sipline.services.auth import Caller
from tests.api.test_records import insert
from tests.conftest import Api
from tests.console.conftest import Console

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)


async def _calls(platform: Platform, api: Api) -> Caller:
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    answered = {"hangup_time": NOW, "termination_code": "200"}
    await insert(
        platform,
        api.customer,
        "2612020000000000001",
        NOW - timedelta(hours=1),
        answer_time=NOW - timedelta(minutes=59),
        call_duration=60,
        cost=Decimal("0.5"),
        **answered,
    )
    await insert(
        platform,
        api.customer,
        "2612020000000000002",
        NOW - timedelta(hours=1, minutes=5),
        answer_time=NOW - timedelta(hours=1),
        call_duration=120,
        cost=Decimal("1.25"),
        **answered,
    )
    await insert(
        platform,
        api.customer,
        "2612020000000000003",
        NOW - timedelta(hours=3),
        termination_code="486",
        hangup_time=NOW,
    )
    await insert(
        platform,
        api.customer,
        "2612020000000000004",
        NOW - timedelta(days=2),
        answer_time=NOW - timedelta(days=2),
        call_duration=30,
        cost=Decimal("2"),
        **answered,
    )
    auth = await platform.directory.auth_record(api.customer.api_key)
    assert auth is not None
    return Caller(auth.account_id, api.customer.api_key)


async def test_todays_figures_and_the_charts_buckets(platform: Platform, api: Api) -> None:
    caller = await _calls(platform, api)
    figures = await platform.dashboard.dashboard(caller, now=NOW)
    assert figures.balance == Decimal(100) and figures.currency == "USD"
    today = figures.today
    assert (today.calls, today.answered, today.average_duration, today.spend) == (3, 2, 90.0, Decimal("1.75"))
    assert len(figures.hours) == 24 and figures.hours[-1].hour == NOW.replace(minute=0)
    by_hour = {
        bucket.hour.hour: (bucket.answered, bucket.failed)
        for bucket in figures.hours
        if bucket.answered or bucket.failed
    }
    assert by_hour == {14: (2, 0), 12: (0, 1)}
    spend = {bucket.day.day: bucket.spend for bucket in figures.days if bucket.spend}
    assert len(figures.days) == 30 and spend == {2: Decimal("1.75"), 30: Decimal("2")}


async def test_the_dashboard_page_shows_balance_and_registered_phones(
    platform: Platform, api: Api, signed_in: Console
) -> None:
    await _calls(platform, api)
    page = await signed_in.get("/console/dashboard")
    assert '<strong id="balance">100.0000 USD</strong>' in page.text
    assert '<strong id="registered">0 / 1</strong>' in page.text
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text)
    assert data is not None
    charts = json.loads(data.group(1))
    assert len(charts["hours"]) == 24 and len(charts["spend"]) == 30
