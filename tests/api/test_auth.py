"""Authentication of /voice calls: -1, -2, -13, -16 (GUIDE section 1)."""

import math
import time

import httpx
import pytest

from sipline.bootstrap import Platform
from sipline.domain.signing import compute_sign
from tests.conftest import Customer

QUERY = {"current": 1, "size": 20, "params": {}}


def body_for(customer: Customer) -> dict[str, object]:
    return {"current": 1, "size": 20, "params": {"appId": customer.app_id}}


async def status_of(http: httpx.AsyncClient, headers: dict[str, str], body: object) -> tuple[str, str]:
    response = await http.post("/voice/sipQuery", json=body, headers=headers)
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"status", "reason", "data"}
    assert isinstance(payload["status"], str)
    return payload["status"], payload["reason"]


async def test_signed_request_passes(http: httpx.AsyncClient, customer: Customer) -> None:
    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "0"


@pytest.mark.parametrize("dropped", ["Api-Key", "Timestamp", "Sign"])
async def test_missing_header_is_auth_error(
    http: httpx.AsyncClient, customer: Customer, dropped: str
) -> None:
    headers = customer.headers()
    del headers[dropped]
    status, reason = await status_of(http, headers, body_for(customer))
    assert status == "-1"
    assert dropped in reason


async def test_unknown_key_and_wrong_sign_look_the_same(http: httpx.AsyncClient, customer: Customer) -> None:
    wrong_sign = customer.headers() | {"Sign": "0" * 32}
    unknown = customer.headers() | {"Api-Key": "nobody00"}
    first = await status_of(http, wrong_sign, body_for(customer))
    second = await status_of(http, unknown, body_for(customer))
    assert first == second
    assert first[0] == "-1"


async def test_sign_is_case_insensitive(http: httpx.AsyncClient, customer: Customer) -> None:
    headers = customer.headers()
    headers["Sign"] = headers["Sign"].upper()
    assert (await status_of(http, headers, body_for(customer)))[0] == "0"


async def test_header_names_are_case_insensitive(http: httpx.AsyncClient, customer: Customer) -> None:
    headers = {name.lower(): value for name, value in customer.headers().items()}
    assert (await status_of(http, headers, body_for(customer)))[0] == "0"


@pytest.mark.parametrize("skew", [-301, 301, -100_000])
async def test_timestamp_outside_window(http: httpx.AsyncClient, customer: Customer, skew: int) -> None:
    # rounded away from now, so that the request's own latency cannot bring it back inside
    timestamp = (math.ceil(time.time()) if skew > 0 else math.floor(time.time())) + skew
    status, reason = await status_of(http, customer.headers(timestamp), body_for(customer))
    assert status == "-16"
    assert "300 seconds" in reason


async def test_timestamp_inside_window(http: httpx.AsyncClient, customer: Customer) -> None:
    assert (await status_of(http, customer.headers(int(time.time()) - 250), body_for(customer)))[0] == "0"


async def test_ip_allow_list(http: httpx.AsyncClient, customer: Customer, platform: Platform) -> None:
    await platform.tenancy.set_ip_allowlist(customer.api_key, ["10.0.0.0/8"])
    status, reason = await status_of(http, customer.headers(), body_for(customer))
    assert (status, reason) == ("-2", "requests from 127.0.0.1 are not allowed")
    await platform.tenancy.set_ip_allowlist(customer.api_key, ["10.0.0.0/8", "127.0.0.0/8"])
    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "0"


async def test_locked_account(http: httpx.AsyncClient, customer: Customer, platform: Platform) -> None:
    await platform.tenancy.set_locked(customer.api_key, True)
    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "-13"
    await platform.tenancy.set_locked(customer.api_key, False)
    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "0"


async def test_auth_is_checked_before_the_body(http: httpx.AsyncClient, customer: Customer) -> None:
    response = await http.post(
        "/voice/sipQuery", content=b"{not json", headers=customer.headers() | {"Sign": "f" * 32}
    )
    assert response.json()["status"] == "-1"


async def test_other_accounts_app_is_not_visible(http: httpx.AsyncClient, platform: Platform) -> None:
    first = await platform.tenancy.create_account()
    second = await platform.tenancy.create_account()
    app = await platform.tenancy.create_app(second.api_key)
    ts = str(int(time.time()))
    headers = {
        "Api-Key": first.api_key,
        "Timestamp": ts,
        "Sign": compute_sign(first.api_key, first.api_secret, ts),
    }
    status, reason = await status_of(http, headers, {"params": {"appId": app.app_id}})
    assert status == "-22"
    assert "appId" in reason


async def test_changes_by_another_process_are_seen_after_a_poll(
    http: httpx.AsyncClient, customer: Customer, platform: Platform, tmp_path
) -> None:
    from sipline.bootstrap import build_platform
    from tests.conftest import make_settings

    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "0"
    assert not await platform.directory.refresh_if_changed()
    # Another process (the admin CLI, another node) on the same database locks the account.
    other = await build_platform(
        make_settings(
            tmp_path,
            str(platform.engine.url).replace("+aiosqlite", "").replace("+asyncpg", ""),
            secret_key=None,
            data_dir=platform.settings.data_dir,
        )
    )
    await other.tenancy.set_locked(customer.api_key, True)
    await other.close()
    assert await platform.directory.refresh_if_changed()
    assert (await status_of(http, customer.headers(), body_for(customer)))[0] == "-13"


async def test_sip_credentials_preload_follows_the_phones(api, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    assert (await api.add("deskGroup", "desk", 3))["status"] == "0"
    records = (await api.query())["data"]["records"]
    platform.directory.invalidate_all()
    assert await platform.directory.preload_sip_credentials() == 3
    for record in records:
        credential = await platform.directory.sip_credential(record["account"])
        assert credential is not None and (credential.password, credential.enabled) == (
            record["password"],
            True,
        )
    assert await platform.directory.sip_credential("0000000000") is None


async def test_own_writes_do_not_flush_the_whole_directory(api, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    assert (await api.add("deskGroup", "desk", 2))["status"] == "0"
    other_app = await platform.tenancy.create_app(api.customer.api_key)
    await platform.directory.refresh_if_changed()
    desk = (await api.query())["data"]["records"][0]
    cached = await platform.directory.sip_credential(desk["account"])
    # This process adds phones to another app and resets nothing of the first one's phones:
    assert (await api.add("otherGroup", "other", 2, appId=other_app.app_id))["status"] == "0"
    assert not await platform.directory.refresh_if_changed()  # its own write: nothing to drop
    assert await platform.directory.sip_credential(desk["account"]) is cached  # still served from memory
    # A reset of that phone is seen at once by this process.
    reply = await api.post("sipReset", {"account": desk["account"], "appId": api.customer.app_id})
    credential = await platform.directory.sip_credential(desk["account"])
    assert credential is not None and credential.password == reply["data"]
