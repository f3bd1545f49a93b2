"""The push configuration over HTTP: the operator's /admin/apps/{appId}/push routes (bearer token)
and the customer's signed POST /voice/getPushConfig; bad input answers -22 in the envelope."""

import httpx
import pytest

from sipline.bootstrap import Platform
from tests.api.test_admin_api import AUTH, admin
from tests.conftest import Api, Customer

URL = "http://127.0.0.1:9/hooks"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"push_allowed_networks": ("127.0.0.0/8",)}


async def test_the_operator_sets_rotates_and_chooses_and_the_customer_reads_it(
    http: httpx.AsyncClient, customer: Customer, api: Api
) -> None:
    base = f"/apps/{customer.app_id}/push"
    set_ = (await admin(http, "PUT", base, {"url": URL}))["data"]
    assert set_["appId"] == customer.app_id and set_["url"] == URL and set_["secret"].startswith("whsec_")
    assert set_["events"] == ["report"] and set_["outbox"] == {}

    chosen = (await admin(http, "PUT", f"{base}/events", {"events": ["report", "answered"]}))["data"]
    assert chosen["events"] == ["report", "answered"]
    rotated = (await admin(http, "POST", f"{base}/rotate", {"graceSeconds": 3600}))["data"]
    assert rotated["secret"] != set_["secret"] and rotated["previousSecretExpiresAt"] is not None
    assert (await admin(http, "GET", base))["data"] == rotated
    assert (await admin(http, "GET", f"{base}/outbox?state=failed&limit=10"))["data"] == []
    assert (await admin(http, "POST", f"{base}/replay", {}))["data"] == {"queued": 0}
    assert (await admin(http, "GET", f"{base}/log?eventId=msg_1_3&limit=5"))["data"] == []

    read = await api.post("getPushConfig", {"appId": customer.app_id})
    assert read["status"] == "0" and read["data"] == rotated  # the secret to verify reports with


async def test_bad_push_requests_answer_minus_22_with_the_reason(
    platform: Platform, http: httpx.AsyncClient, customer: Customer, api: Api
) -> None:
    base = f"/admin/apps/{customer.app_id}/push"
    for method, path, body, reason in [
        ("GET", base, None, "has no push URL"),
        ("PUT", base, {"url": "http://169.254.169.254/"}, "169.254.169.254 is a link-local address"),
        ("PUT", base, {"url": "http://10.0.0.1/"}, "10.0.0.1 is a private address"),
        ("PUT", base, {"url": "javascript:alert(1)"}, "must be http:// or https://"),
        ("PUT", base, {"url": "http://" + "a" * 2050}, "url"),
        ("PUT", base, {"url": URL, "events": ["hangup"]}, "events must be one or more of"),
        ("PUT", base, {"url": 7}, "url"),
        ("PUT", "/admin/apps/noSuchApp/push", {"url": URL}, "appId 'noSuchApp' does not exist"),
        ("POST", f"{base}/rotate", {"graceSeconds": 10**9}, "graceSeconds"),
        ("GET", f"{base}/outbox?limit=100000", None, "limit"),
        ("GET", f"{base}/log?limit=0", None, "limit"),
    ]:
        response = await http.request(method, path, json=body, headers=AUTH)
        answer = response.json()
        assert answer["status"] == "-22" and reason in answer["reason"], (path, body, answer)
    assert (await http.get(base)).status_code == 401  # no token

    answer = await api.post("getPushConfig", {"appId": customer.app_id})
    assert answer["status"] == "-22" and "has no push URL" in str(answer["reason"])
    other = await platform.tenancy.create_account()
    others_app = await platform.tenancy.create_app(other.api_key)
    await platform.push_config.set_push(others_app.app_id, URL)
    answer = await api.post("getPushConfig", {"appId": others_app.app_id})
    assert answer == {
        "status": "-22",
        "reason": f"appId {others_app.app_id} is not an app of this account",
        "data": None,
    }
    assert (await api.post("getPushConfig", {}))["status"] == "-22"
