"""Who may read GET /metrics: loopback clients by default, the bearer of `metrics_token` when it is set,
nobody when `metrics_enabled` is false."""

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sipline.bootstrap import Platform, build_app

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    overrides: dict[str, object] = getattr(request, "param", {})
    return overrides


@pytest.fixture
async def remote_http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a client on another host reaches it (the ASGI scope's client address)."""
    transport = httpx.ASGITransport(app=build_app(platform), client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sipline.test") as client:
        yield client


def metric_names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


async def test_loopback_clients_only_by_default(
    http: httpx.AsyncClient, remote_http: httpx.AsyncClient
) -> None:
    refused = await remote_http.get("/metrics")
    assert refused.status_code == 403
    assert refused.json() == {
        "status": "-2",
        "reason": "metrics are served to loopback clients only (or set metrics_token)",
        "data": None,
    }
    served = await http.get("/metrics")
    assert served.status_code == 200
    assert {"sipline_registered_phones", "sipline_sip_requests", "sipline_active_calls"} <= metric_names(
        served.text
    )


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": TOKEN}], indirect=True)
async def test_token_required_when_set(http: httpx.AsyncClient, remote_http: httpx.AsyncClient) -> None:
    for client in (http, remote_http):  # loopback gets no free pass once a token is set
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["status"] == "-1"
            assert TOKEN not in refused.text
        served = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert served.status_code == 200 and "sipline_banned_sources" in metric_names(served.text)


@pytest.mark.parametrize("settings_overrides", [{"metrics_enabled": False}], indirect=True)
async def test_disabled(http: httpx.AsyncClient) -> None:
    answer = await http.get("/metrics")
    assert (answer.status_code, answer.json()["status"]) == (404, "-22")


async def test_not_in_the_voice_api_document(http: httpx.AsyncClient) -> None:
    assert "/metrics" not in (await http.get("/openapi.json")).json()["paths"]
