"""/docs and /redoc work without internet: every asset they load is served by the platform itself."""

import re

import httpx
import pytest

# Every address a page loads: link and script tags, Swagger UI's spec url, ReDoc's spec-url.
ADDRESS = re.compile(r"""(?:href|src|spec-url)="([^"]*)"|\burl: '([^']*)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_loads_only_local_assets(http: httpx.AsyncClient, page: str) -> None:
    response = await http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    addresses = [href or url for href, url in ADDRESS.findall(response.text)]
    assert "/openapi.json" in addresses
    assert len(addresses) >= 3, addresses  # the spec, a script and the favicon at least
    for address in addresses:
        assert address.startswith("/") and not address.startswith("//"), address
        asset = await http.get(address)
        assert asset.status_code == 200, address
        assert asset.content, address


async def test_swagger_ui_does_not_call_the_online_validator(http: httpx.AsyncClient) -> None:
    assert '"validatorUrl": null' in (await http.get("/docs")).text
