"""A running `sipline serve` reports itself ready, over real HTTP, with its SIP ports listening and its
media relay running."""

import httpx

from tests.e2e.conftest import Served


def test_served_platform_is_ready(served: Served) -> None:
    assert httpx.get(f"{served.base_url}/healthz", timeout=5).status_code == 200
    response = httpx.get(f"{served.base_url}/readyz", timeout=5)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "database": "ok",
        "migrations": "ok",
        "sip": "ok",
        "media": "ok",
    }
    assert checks["sip"]["detail"] == f"udp, tcp listening on port {served.sip_port}"
