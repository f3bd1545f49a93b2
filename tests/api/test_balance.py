"""getBalance at the vendor's paths, ledgerQuery, and the operator's adjustments and ledger view."""

from __future__ import annotations

import hashlib
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sipline.bootstrap import Platform, build_app
from sipline.client import AsyncClient
from tests.conftest import ADMIN_TOKEN, Customer
from tests.peers import require

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def php_headers(customer: Customer, timestamp: int) -> dict[str, str]:
    """The headers as the vendor's PHP samples build them, the Sign computed by PHP's own md5."""
    php = require("php")
    sign = subprocess.run(
        [
            php,
            "-r",
            "echo md5($argv[1].$argv[2].$argv[3]);",
            customer.api_key,
            customer.api_secret,
            str(timestamp),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert sign == hashlib.md5(f"{customer.api_key}{customer.api_secret}{timestamp}".encode()).hexdigest()
    return {
        "Content-Type": "application/json;charset=UTF-8",  # sent on a GET, as the samples do
        "Sign": sign,
        "Timestamp": str(timestamp),
        "Api-Key": customer.api_key,
    }


@pytest.mark.interop  # PHP computes the Sign
@pytest.mark.parametrize("path", ["/sms/getBalance", "/voice/getBalance"])
async def test_get_balance_answers_the_vendors_shape(
    http: httpx.AsyncClient, customer: Customer, path: str
) -> None:
    response = await http.get(path, headers=php_headers(customer, int(time.time())))
    assert response.status_code == 200
    assert response.json() == {
        "status": "0",
        "reason": "success",
        "balance": "100",
        "gift": "0",
        "credit": "0",
    }


async def test_get_balance_is_what_calls_in_progress_left(
    platform: Platform, http: httpx.AsyncClient, customer: Customer
) -> None:
    """A call's reservation is out of the balance the customer sees (it is already taken)."""
    from tests.calls.test_call_writer import new_call

    auth = await platform.directory.auth_record(customer.api_key)
    app = await platform.directory.app_phones(customer.app_id)
    assert auth is not None and app is not None
    await platform.calls.writer.accept(new_call(platform, auth.account_id, app.app_pk, 1, "0.25"))
    answer = (await http.get("/voice/getBalance", headers=customer.headers())).json()
    assert answer["balance"] == "99.75"
    balance = await platform.ledger.balance(auth.account_id)
    assert (str(balance.available), str(balance.reserved)) == ("99.7500", "0.2500")


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"Sign": "0" * 32}, "-1"),
        ({"Api-Key": "nobody12"}, "-1"),
        ({"Timestamp": str(int(time.time()) - 3600)}, "-16"),
    ],
)
async def test_get_balance_refuses_bad_auth(
    http: httpx.AsyncClient, customer: Customer, change: dict[str, str], status: str
) -> None:
    headers = customer.headers() | change
    if "Timestamp" in change:  # a right Sign for the stale time: only the window refuses it
        headers = customer.headers(int(change["Timestamp"]))
    for path in ("/sms/getBalance", "/voice/getBalance"):
        payload = (await http.get(path, headers=headers)).json()
        assert payload["status"] == status and payload["data"] is None, payload


async def test_get_balance_of_a_locked_account_and_a_foreign_address(
    platform: Platform, http: httpx.AsyncClient, customer: Customer
) -> None:
    await platform.tenancy.set_ip_allowlist(customer.api_key, ["10.0.0.0/8"])
    assert (await http.get("/sms/getBalance", headers=customer.headers())).json()["status"] == "-2"
    await platform.tenancy.set_ip_allowlist(customer.api_key, [])
    await platform.tenancy.set_locked(customer.api_key, True)
    assert (await http.get("/sms/getBalance", headers=customer.headers())).json()["status"] == "-13"


async def adjust(http: httpx.AsyncClient, key: str, amount: str, reason: str) -> dict[str, Any]:
    body = {"amount": amount, "reason": reason}
    payload: dict[str, Any] = (
        await http.post(f"/admin/accounts/{key}/adjust", json=body, headers=ADMIN)
    ).json()
    return payload


async def test_adjustments_need_a_reason_and_never_go_below_zero(
    http: httpx.AsyncClient, customer: Customer
) -> None:
    taken = await adjust(http, customer.api_key, "-40.5", "refund of a disputed call")
    assert taken["status"] == "0"
    row = taken["data"]
    assert (row["kind"], row["amount"], row["balanceAfter"], row["reference"]) == (
        "adjust",
        "-40.5",
        "59.5",
        "refund of a disputed call",
    )
    assert datetime.fromisoformat(row["createdAt"]).utcoffset() == timedelta(0)
    too_much = await adjust(http, customer.api_key, "-59.5001", "more than there is")
    assert too_much["status"] == "-10" and "below zero" in too_much["reason"]
    for amount, reason, field in (
        ("5", "", "reason"),
        ("5", "   ", "reason"),
        ("5", "x" * 129, "reason"),
        ("0", "nothing", "amount"),
        ("0.00001", "too precise", "amount"),
        ("1e400", "too big", "amount"),
        ("2000000000", "over the maximum", "amount"),
        ("NaN", "not a number", "amount"),
    ):
        answer = await adjust(http, customer.api_key, amount, reason)
        assert answer["status"] == "-22" and field in answer["reason"], (amount, reason, answer)
    assert (await adjust(http, "nobody12", "5", "unknown account"))["status"] == "-22"
    balance = (await http.get("/voice/getBalance", headers=customer.headers())).json()
    assert balance["balance"] == "59.5"  # only the one good adjustment moved it


async def test_ledger_query_pages_newest_first_and_filters_by_time(
    platform: Platform, http: httpx.AsyncClient, customer: Customer
) -> None:
    for index in range(1, 6):
        await platform.ledger.adjust(customer.api_key, f"{index}", f"credit {index}")
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    async with AsyncClient(
        "http://sipline.test", customer.api_key, customer.api_secret, transport=transport
    ) as client:
        first = await client.ledger_query(current=1, size=4)
        second = await client.ledger_query(current=2, size=4)
        assert (await client.get_balance()).balance == 115  # the SDK reads the top-level fields
    assert (first.total, first.pages, second.current) == (6, 2, 2)  # opening top-up + five
    assert [e.reference for e in first.records] == ["credit 5", "credit 4", "credit 3", "credit 2"]
    assert [(e.kind, e.reference) for e in second.records] == [("adjust", "credit 1"), ("topup", "opening")]
    assert first.records[0].balance_after == 115
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    none = (
        await http.get("/voice/ledgerQuery", params={"strTime": later}, headers=customer.headers())
    ).json()
    assert none["status"] == "0" and none["data"]["total"] == 0 and none["data"]["records"] == []
    operator = await http.get(f"/admin/accounts/{customer.api_key}/ledger", params={"size": 1}, headers=ADMIN)
    assert operator.json()["data"]["records"][0]["reference"] == "credit 5"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"current": "0"}, "current"),
        ({"current": "99999999999999999999"}, "current"),
        ({"size": "101"}, "size"),
        ({"size": "many"}, "size"),
        ({"strTime": "yesterday"}, "strTime"),
        ({"endTime": "2026-01-01T00:00:00"}, "endTime"),
        ({"strTime": "x" * 65}, "strTime"),
        ({"strTime": "2026-02-01T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"}, "endTime"),
    ],
)
async def test_ledger_query_refuses_bad_parameters(
    http: httpx.AsyncClient, customer: Customer, params: dict[str, str], field: str
) -> None:
    payload = (await http.get("/voice/ledgerQuery", params=params, headers=customer.headers())).json()
    assert payload["status"] == "-22" and field in payload["reason"], payload
