"""Golden wire tests: the seeds' own requests, headers and answers (../shared/seeds)."""

import json
from typing import Any

import httpx
import pytest

from sipline.bootstrap import Platform
from tests.peers import shared_input

VENDOR_KEY, VENDOR_SECRET, VENDOR_APP = "bDqJFiq9", "7bz1lzh9", "4luaKsL2"
# The seeds' literal headers: Sign is md5(apiKey + apiSecret + "1630468800").
SEED_HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "Sign": "05d7a50893e22a5c4bb3216ae3396c7c",
    "Timestamp": "1630468800",
    "Api-Key": VENDOR_KEY,
}


def seed_text(endpoint: str) -> str:
    for path in sorted(shared_input("seeds").glob("*.txt")):
        text = path.read_text()
        if f"/voice/{endpoint}" in text:
            return text
    raise AssertionError(f"no seed for {endpoint}")


def json_after(text: str, marker: str) -> Any:
    start = text.index("{", text.index(marker))
    value, _end = json.JSONDecoder().raw_decode(text[start:])
    return value


def shape(value: Any) -> Any:
    """Field names and JSON types, recursively: what a client's parser depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The seeds were signed in 2021: widen the window so that their literal headers authenticate.
    return {"timestamp_window": 10**10}


@pytest.fixture
async def vendor_account(platform: Platform) -> None:
    await platform.tenancy.create_account(api_key=VENDOR_KEY, api_secret=VENDOR_SECRET)
    await platform.tenancy.create_app(VENDOR_KEY, app_id=VENDOR_APP)


@pytest.mark.usefixtures("vendor_account")
async def test_sip_add_and_query_exactly_as_the_seeds(http: httpx.AsyncClient) -> None:
    add_seed = seed_text("sipAdd")
    response = await http.post(
        "/voice/sipAdd", content=json.dumps(json_after(add_seed, "Request Body:")), headers=SEED_HEADERS
    )
    assert response.status_code == 200
    assert response.json() == json_after(add_seed, "RESPONSEEXAMPLE")

    query_seed = seed_text("sipQuery")
    request_body = json_after(query_seed, "Request Body:")
    response = await http.post("/voice/sipQuery", content=json.dumps(request_body), headers=SEED_HEADERS)
    answer = response.json()
    expected = json_after(query_seed, "RESPONSEEXAMPLE")
    # The vendor's fields, in its order and with its types; sipline's additions come after them.
    seed_record, record = expected["data"]["records"][0], answer["data"]["records"][0]
    assert list(record)[: len(seed_record)] == list(seed_record)
    assert shape({k: record[k] for k in seed_record}) == shape(seed_record)
    assert list(record)[len(seed_record) :] == ["registered", "registrationExpires", "userAgent"]
    answer["data"]["records"], expected["data"]["records"] = [], []
    assert shape(answer) == shape(expected)
    assert list(answer["data"]) == list(expected["data"])
    assert answer["status"] == "0"
    data = answer["data"]
    assert (data["total"], data["size"], data["current"], data["pages"]) == (30, 20, 1, 2)
    first = record
    assert (first["groupName"], first["phoneName"], first["displayNum"]) == ("sipGroup", "sip-1", "861000000")


@pytest.mark.usefixtures("vendor_account")
async def test_php_sample_body_with_string_numbers(http: httpx.AsyncClient) -> None:
    # The PHP sample sends every number as a string: "quantity": "{{quantity}}", "current": "{{current}}".
    body = {
        "groupName": "phpGroup",
        "phoneName": "php",
        "quantity": "2",
        "displayNum": "861000000",
        "appId": VENDOR_APP,
    }
    assert (await http.post("/voice/sipAdd", json=body, headers=SEED_HEADERS)).json()["status"] == "0"
    query = {"current": "1", "size": "20", "params": {"appId": VENDOR_APP}}
    assert (await http.post("/voice/sipQuery", json=query, headers=SEED_HEADERS)).json()["data"]["total"] == 2


def test_seed_status_tables_are_known_codes() -> None:
    from sipline.domain.status import Status

    known = {status.value for status in Status}
    for path in shared_input("seeds").glob("*.txt"):
        for line in path.read_text().splitlines():
            code = line.split("|")[0].strip().split(" ")[0]
            if code.lstrip("-").isdigit() and (code.startswith("-") or code == "0"):
                assert code in known, f"{path.name}: status {code} is not modelled"
