"""Rate decks through the admin API (/admin/rates): import, versions, export, refusals in the
envelope with line numbers and nothing written; which deck the call path gets (the rate book),
including an import made by another process."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform, build_platform
from sipline.store.models import Account
from tests.api.test_admin_api import AUTH, admin
from tests.conftest import Customer, make_settings

PLATFORM_DECK = (
    b"prefix,destination,rate,base_rate,period,connect_fee\n"
    b",World,0.0500,,60+60,\n"
    b"44,UK,0.0200,0.0300,20+20,0.0100\n"
)
ACCOUNT_DECK = b"4420,London,0.0100,,1+1,\n"  # an overlay: only London is priced differently


async def post_deck(http: httpx.AsyncClient, csv: bytes, **params: str) -> dict:
    answer = await http.post(
        "/admin/rates/import", params=params, content=csv, headers={**AUTH, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    payload: dict = answer.json()
    return payload


async def export(http: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await http.get("/admin/rates/export", params=params, headers=AUTH)


async def test_import_list_and_export_a_platform_deck(http: httpx.AsyncClient) -> None:
    assert (await export(http)).headers["X-Rate-Deck-Version"] == "config"  # nothing imported yet
    assert (
        await export(http)
    ).text == "prefix,destination,rate,base_rate,period,connect_fee\n,,0.0100,,60+60,0\n"
    imported = await post_deck(http, PLATFORM_DECK, effectiveFrom="2026-01-01T00:00:00Z")
    assert imported["status"] == "0"
    version = imported["data"]
    assert (version["account"], version["effectiveFrom"], version["lines"]) == (
        None,
        "2026-01-01T00:00:00+00:00",
        2,
    )

    later = (await post_deck(http, b"1,US,0.0100,,6+6\n", effectiveFrom="2099-01-01T08:00:00+08:00"))["data"]
    assert later["effectiveFrom"] == "2099-01-01T00:00:00+00:00"
    listed = (await admin(http, "GET", "/rates"))["data"]
    assert [v["id"] for v in listed] == [version["id"], later["id"]]

    now = await export(http)
    assert now.headers["X-Rate-Deck-Version"] == str(version["id"])
    assert now.text == (
        "prefix,destination,rate,base_rate,period,connect_fee\n"
        ",World,0.0500,,60+60,0.0000\n44,UK,0.0200,0.0300,20+20,0.0100\n"
    )
    then = await export(http, at="2099-06-01T00:00:00Z")
    assert then.text.splitlines()[1:] == ["1,US,0.0100,,6+6,0.0000"]
    # What was exported imports again as the same deck.
    again = (await post_deck(http, now.text.encode(), effectiveFrom="2027-01-01T00:00:00Z"))["data"]
    assert (await export(http, at="2027-02-01T00:00:00Z")).text == now.text and again["lines"] == 2


async def test_an_account_deck_overlays_the_platform_deck_from_its_effective_time(
    platform: Platform, http: httpx.AsyncClient, customer: Customer
) -> None:
    async with platform.sessions() as session:
        account_id = await session.scalar(select(Account.id).where(Account.api_key == customer.api_key))
    assert account_id is not None
    start = datetime.now(UTC) - timedelta(hours=1)
    await post_deck(http, PLATFORM_DECK, effectiveFrom=start.isoformat())
    overlay = start + timedelta(minutes=30)
    own = await post_deck(http, ACCOUNT_DECK, account=customer.api_key, effectiveFrom=overlay.isoformat())
    assert own["data"]["account"] == customer.api_key

    async def rate_at(number: str, at: datetime, account: int = account_id) -> tuple[str, str]:
        found = await platform.rate_book.find(account, number, at)
        assert found is not None
        return found.prefix, str(found.per_minute)

    now = datetime.now(UTC)
    assert await rate_at("442079460000", now) == ("4420", "0.0100")  # the account's own price
    assert await rate_at("441612345678", now) == ("44", "0.0200")  # not in its deck: the platform's
    assert await rate_at("12025550123", now) == ("", "0.0500")
    assert await rate_at("442079460000", overlay - timedelta(seconds=1)) == ("44", "0.0200")  # before it
    assert await rate_at("442079460000", now, account_id + 1) == ("44", "0.0200")  # another account
    assert await rate_at("442079460000", start - timedelta(seconds=1)) == ("", "0.0100")  # the config's

    # Versions in effect now or later, loaded before any call needs them: the platform's and the account's.
    assert await platform.rate_book.warm(now) == 2
    assert (
        await platform.rate_book.warm(start - timedelta(seconds=1)) == 2
    )  # nothing in effect yet: both later

    mine = (await export(http, account=customer.api_key)).text
    assert mine.splitlines()[1:] == ["4420,London,0.0100,,1+1,0.0000"]
    listed = (await admin(http, "GET", f"/rates?account={customer.api_key}"))["data"]
    assert [v["account"] for v in listed] == [customer.api_key]


async def test_a_bad_file_is_refused_whole_with_line_numbers_and_nothing_is_written(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    bad = PLATFORM_DECK + b"44,UK again,0.0200,,20+20,\n93,AF,0.12345,,30+6,\n"
    refused = await post_deck(http, bad)
    assert refused["status"] == "-21"
    assert refused["data"]["errors"] == [
        {"line": 4, "message": "prefix 44 appears twice (first on line 3)"},
        {"line": 5, "message": "rate 0.12345 has more than 4 decimals"},
    ]
    assert refused["reason"].startswith("rate deck refused: line 4: prefix 44 appears twice")
    assert (await admin(http, "GET", "/rates"))["data"] == []
    assert (await platform.rate_book.find(1, "4420", datetime.now(UTC))).per_minute == Decimal("0.01")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"effectiveFrom": "tomorrow"}, "effectiveFrom must be an ISO 8601 time"),
        ({"effectiveFrom": "2026-12-02T06:00:00"}, "effectiveFrom must include a UTC offset"),
        ({"account": "no-such-key"}, "apiKey 'no-such-key' does not exist"),
        ({"account": "k" * 65}, "account"),
    ],
)
async def test_bad_parameters_answer_in_the_envelope(
    http: httpx.AsyncClient, params: dict, reason: str
) -> None:
    answer = await post_deck(http, PLATFORM_DECK, **params)
    assert answer["status"] == "-22" and reason in answer["reason"], answer
    assert (await admin(http, "GET", "/rates"))["data"] == []


async def test_export_of_an_account_without_a_deck_and_a_bad_time(
    http: httpx.AsyncClient, customer: Customer
) -> None:
    assert (await export(http, account=customer.api_key)).json()["status"] == "-22"
    assert (await export(http, at="noon")).json()["status"] == "-22"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/admin/rates/import"), ("GET", "/admin/rates/export"), ("GET", "/admin/rates")],
)
async def test_the_rate_routes_need_the_admin_token(http: httpx.AsyncClient, method: str, path: str) -> None:
    answer = await http.request(
        method, path, content=PLATFORM_DECK, headers={"Authorization": "Bearer wrong"}
    )
    assert answer.status_code == 401 and answer.json()["status"] == "-1"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rate_deck_max_bytes": 2048, "max_body_bytes": 1024}


async def test_the_import_has_its_own_body_limit(http: httpx.AsyncClient) -> None:
    lines = b"".join(b"%d,x,0.0100,,60+60\n" % prefix for prefix in range(100, 190))  # ~1.7 KB
    assert len(lines) > 1024
    assert (await post_deck(http, lines))["status"] == "0"  # above max_body_bytes, within its own
    answer = await http.post("/admin/rates/import", content=lines * 2, headers=AUTH)
    assert answer.status_code == 413 and answer.json()["status"] == "-22"


async def test_an_import_by_another_process_reaches_the_call_path(
    platform: Platform, tmp_path: Path, database_url: str
) -> None:
    book = platform.rate_book
    assert not await book.refresh_if_changed()  # the first look only notes where things are
    assert (await book.find(1, "4420", datetime.now(UTC))).per_minute == Decimal("0.01")  # type: ignore[union-attr]
    other = await build_platform(make_settings(tmp_path, database_url), migrate=False)
    try:
        await other.decks.import_csv(b"44,UK,0.0700,,60+60\n", effective_from=datetime.now(UTC))
    finally:
        await other.close()
    assert await book.refresh_if_changed()
    assert (await book.find(1, "4420", datetime.now(UTC))).per_minute == Decimal("0.07")  # type: ignore[union-attr]
    assert not await book.refresh_if_changed()
