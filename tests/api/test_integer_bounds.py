"""Every integer (and text that a database could refuse) is bounded: `-22` naming the field, never `-18`.

Run on SQLite and PostgreSQL (both overflowed on a page offset past 2^63 before the bounds).
"""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sipline.domain.paging import MAX_PAGE
from sipline.domain.signing import compute_sign
from tests.conftest import ADMIN_TOKEN, Api

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HUGE = [2**63, 10**17, 2**64, 10**30, str(2**63), "9" * 40]


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"strTime": (now - timedelta(days=1)).isoformat(), "endTime": now.isoformat()}


def paged_bodies(api: Api) -> dict[str, dict[str, object]]:
    """A valid body of each paged endpoint, to set `current` or `size` in."""
    return {
        "sipQuery": {"params": {"appId": api.customer.app_id}},
        "recordGroupQuery": {"params": window()},
        "recordSipQuery": {"params": window() | {"sipGroupName": "salesDesk"}},
    }


PAGED = ["sipQuery", "recordGroupQuery", "recordSipQuery"]


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("current", HUGE)
async def test_huge_page_number(api: Api, path: str, current: object) -> None:
    body = paged_bodies(api)[path] | {"current": current, "size": 100}
    answer = await api.post(path, body)
    assert answer["status"] == "-22", answer
    assert answer["reason"] == f"current must be less than or equal to {MAX_PAGE}"


@pytest.mark.parametrize("path", PAGED)
async def test_last_allowed_page_is_empty_not_an_error(api: Api, path: str) -> None:
    # The largest offset the bound allows, (MAX_PAGE - 1) * 100, runs on the database.
    answer = await api.post(path, paged_bodies(api)[path] | {"current": MAX_PAGE, "size": 100})
    assert answer["status"] == "0", answer
    data = answer["data"]
    assert isinstance(data, dict)
    assert (data["current"], data["size"], data["records"]) == (MAX_PAGE, 100, [])


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("current", 0, "current must be greater than or equal to 1"),
        ("current", -(2**63) - 1, "current must be greater than or equal to 1"),
        ("current", 1.5, "current must be a valid integer, got a number with a fractional part"),
        ("size", 0, "size must be greater than or equal to 1"),
        ("size", 101, "size must be less than or equal to 100"),
        ("size", 2**63, "size must be less than or equal to 100"),
        ("size", "1" * 5000, "size is out of range"),
    ],
)
async def test_paging_fields_out_of_range(
    api: Api, path: str, field: str, value: object, reason: str
) -> None:
    answer = await api.post(path, paged_bodies(api)[path] | {field: value})
    assert (answer["status"], answer["reason"]) == ("-22", reason)


@pytest.mark.parametrize("quantity", [2**63, 10**30, -(2**63)])
async def test_huge_quantity(api: Api, quantity: int) -> None:
    answer = await api.add(quantity=quantity)
    assert answer["status"] == "-22"
    assert str(answer["reason"]).startswith("quantity must be ")


@pytest.mark.parametrize(
    ("str_time", "end_time", "field"),
    [
        ("9999-12-31T00:00:00-08:00", "9999-12-31T23:00:00-08:00", "endTime"),
        ("0001-01-01T00:00:00+08:00", "0001-01-02T00:00:00+08:00", "strTime"),
    ],
)
async def test_time_window_without_a_utc_time(api: Api, str_time: str, end_time: str, field: str) -> None:
    for path in ("recordGroupQuery", "recordSipQuery"):
        answer = await api.post(path, {"params": {"strTime": str_time, "endTime": end_time}})
        assert answer["status"] == "-22", answer
        assert answer["reason"] == f"{field} is out of range: its UTC time is not within years 1-9999"


@pytest.mark.parametrize("timestamp", ["9" * 12, "9" * 40, "²³", "-1", str(2**63)])
async def test_timestamp_header_out_of_range(api: Api, timestamp: str) -> None:
    # Correctly signed, so that only the timestamp's value is wrong.
    customer = api.customer
    headers = [
        (b"Api-Key", customer.api_key.encode()),
        (b"Timestamp", timestamp.encode("latin-1")),
        (b"Sign", compute_sign(customer.api_key, customer.api_secret, timestamp).encode()),
    ]
    response = await api.http.post(
        "/voice/sipQuery", json={"params": {"appId": customer.app_id}}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "-16"


async def admin(http: httpx.AsyncClient, path: str, body: object) -> dict[str, object]:
    response = await http.post(f"/admin{path}", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.parametrize("limit", [0, 1_000_001, 2**31, 2**63, 10**30])
async def test_phone_limit_out_of_range(http: httpx.AsyncClient, limit: int) -> None:
    key = (await admin(http, "/accounts", {}))["data"]["apiKey"]  # type: ignore[index]
    answer = await admin(http, "/apps", {"apiKey": key, "phoneLimit": limit})
    assert answer["status"] == "-22"
    assert str(answer["reason"]).startswith("phoneLimit must be ")


async def test_largest_phone_limit_is_stored(http: httpx.AsyncClient) -> None:
    key = (await admin(http, "/accounts", {}))["data"]["apiKey"]  # type: ignore[index]
    answer = await admin(http, "/apps", {"apiKey": key, "phoneLimit": 1_000_000})
    assert answer["data"]["phoneLimit"] == 1_000_000  # type: ignore[index]


@pytest.mark.parametrize("field", ["balance", "quoteExchange"])
@pytest.mark.parametrize("amount", ["1000000000.0001", "1e15", str(2**63), "1e400000"])
async def test_account_amounts_out_of_range(http: httpx.AsyncClient, field: str, amount: str) -> None:
    body = {"currency": "EUR", "quoteExchange": "0.9", field: amount}
    answer = await admin(http, "/accounts", body)
    assert (answer["status"], answer["reason"]) == ("-22", f"{field} must be at most 1000000000")


async def test_top_up_bounded_by_amount_and_by_the_resulting_balance(http: httpx.AsyncClient) -> None:
    key = (await admin(http, "/accounts", {"balance": "999999999"}))["data"]["apiKey"]  # type: ignore[index]
    too_much = await admin(http, f"/accounts/{key}/top-up", {"amount": str(2**63)})
    assert (too_much["status"], too_much["reason"]) == ("-22", "amount must be at most 1000000000")
    over = await admin(http, f"/accounts/{key}/top-up", {"amount": "1.0001"})
    assert (over["status"], over["reason"]) == ("-22", "amount would take the balance over 1000000000")
    exact = await admin(http, f"/accounts/{key}/top-up", {"amount": "1"})
    assert exact["data"]["balance"] == "1000000000.0000"  # type: ignore[index]


@pytest.mark.parametrize("field", ["sipGroupName", "phoneName"])
@pytest.mark.parametrize("value", ["a\x00bcd", "abc", "x" * 33])
async def test_record_filters_are_names(api: Api, field: str, value: str) -> None:
    # A NUL reached PostgreSQL and answered -18; no phone can have such a name anyway.
    answer = await api.post("recordSipQuery", {"params": window() | {field: value}})
    assert answer["status"] == "-22", answer
    assert str(answer["reason"]).startswith(f"params.{field} must ")


async def test_called_info_without_nul(api: Api) -> None:
    body = {"callee": "442079469005", "displayNum": "1008122211", "account": "1234567890"}
    answer = await api.post("sendSip", body | {"appId": api.customer.app_id, "calledInfo": "a\x00b"})
    assert (answer["status"], answer["reason"]) == ("-22", "calledInfo must not contain NUL characters")
