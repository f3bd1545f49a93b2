"""The operator's trunks page and the health page's trunks and charts, over HTTP: what the operator
sees, that a customer gets the console's 404, that trunk passwords never reach a page."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sipline.bootstrap import Platform
from tests.conftest import free_port
from tests.console.conftest import Console

Browsers = Callable[..., Awaitable[Console]]
SECRET = "hunter2-never-shown"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "trunks": {
            "carrier": f"sip:acme:{SECRET}@127.0.0.1:{free_port()};transport=tcp",  # nothing listens
            "backup": {"host": "127.0.0.2", "port": 5070, "username": "acme", "password": SECRET},
        },
        "trunk_ping_timeout": 1,
        "trunk_down_after": 1,
    }


@pytest.fixture
async def pinged(platform: Platform) -> AsyncIterator[Platform]:
    """One round of pings: the TCP trunk refuses the connection (down), the other is still unknown."""
    await platform.sip.start()
    await platform.trunk_health.ping_all()
    await platform.sip.stop()
    platform.health_samples.sample(0.004)
    yield platform


async def test_the_operator_sees_each_trunk_with_its_state_and_no_password(
    pinged: Platform, operator: Console
) -> None:
    page = await operator.get("/console/operator/trunks")
    assert page.status_code == 200
    html = page.text
    assert SECRET not in html and "acme" not in html
    assert 'href="/console/operator/trunks"' in html  # in the navigation
    assert 'hx-get="/console/operator/trunks/table" hx-trigger="every 3s"' in html
    carrier = row(html, "carrier")
    assert "<code>127.0.0.1:" in carrier and ">TCP<" in carrier
    assert 'class="state error">down<' in carrier and "(unreachable)" in carrier
    assert 'class="failures">1<' in carrier
    last_ping = carrier.split('class="last-ping">')[1].split("<")[0]
    assert last_ping.endswith("+00:00") and "T" in last_ping  # ISO 8601 with its offset
    backup = row(html, "backup")
    assert "<code>127.0.0.2:5070</code>" in backup and ">UDP<" in backup
    table = await operator.get("/console/operator/trunks/table")
    assert table.status_code == 200 and "<html" not in table.text and SECRET not in table.text
    assert row(table.text, "carrier") == carrier


async def test_the_health_page_shows_the_trunks_and_the_sampled_figures(
    pinged: Platform, operator: Console
) -> None:
    page = await operator.get("/console/operator/health")
    assert page.status_code == 200
    html = page.text
    assert SECRET not in html
    checks = html.split('<table id="checks">')[1].split("</table>")[0]
    assert "trunk" not in checks.lower()  # informational: not one of the readiness checks
    assert "0 of 2 trunks up" in html and 'class="state error">down<' in html
    assert '<script type="application/json" id="health-chart-data">' in html
    data = html.split('id="health-chart-data">')[1].split("</script>")[0]
    assert '"calls": [0]' in data and '"lag": [4.0]' in data and '"phones": [0]' in data
    for series in ("calls", "media", "phones", "lag"):
        assert f'data-series="{series}"' in html


async def test_customers_and_strangers_do_not_see_the_trunks(
    platform: Platform, signed_in: Console, browsers: Browsers
) -> None:
    for path in ("/console/operator/trunks", "/console/operator/trunks/table"):
        refused = await signed_in.get(path)
        assert refused.status_code == 404 and SECRET not in refused.text and "carrier" not in refused.text
        stranger = await (await browsers()).get(path)
        assert stranger.status_code == 303 and stranger.headers["location"] == "/console/login"


def row(html: str, trunk: str) -> str:
    start = html.index(f'<tr data-trunk="{trunk}">')
    return html[start : html.index("</tr>", start)]
