"""GET /healthz and /readyz on real databases and a real SIP server (and real failures of each)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sipline.bootstrap import Platform, build_app, build_platform
from sipline.services.readiness import ReadinessProbe, is_ready
from sipline.store.migrate import head_revision
from tests.conftest import PG_URL, free_port, make_settings


async def probe(http: httpx.AsyncClient, path: str = "/readyz") -> tuple[int, dict]:
    response = await http.get(path)  # no signature, no token
    payload = response.json()
    assert set(payload) == {"status", "checks"}
    return response.status_code, payload


def statuses(payload: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in payload["checks"].items()}


async def test_ready_once_sip_listens(platform: Platform, http: httpx.AsyncClient) -> None:
    await platform.sip.start()
    try:
        status, payload = await probe(http)
    finally:
        await platform.sip.stop()
    assert (status, payload["status"]) == (200, "ok")
    assert statuses(payload) == {"database": "ok", "migrations": "ok", "sip": "ok"}
    assert payload["checks"]["migrations"]["detail"] == f"at {head_revision()}"
    assert payload["checks"]["sip"]["detail"] == f"udp, tcp listening on port {platform.sip.port}"


async def test_not_ready_before_sip_starts(http: httpx.AsyncClient) -> None:
    status, payload = await probe(http)
    assert (status, payload["status"]) == (503, "fail")
    assert statuses(payload) == {"database": "ok", "migrations": "ok", "sip": "fail"}
    assert payload["checks"]["sip"]["detail"] == "not listening: udp, tcp"


async def test_alive_whatever_readiness_says(http: httpx.AsyncClient) -> None:
    assert await probe(http, "/healthz") == (200, {"status": "ok", "checks": {}})


async def test_not_ready_when_the_schema_is_behind(platform: Platform, http: httpx.AsyncClient) -> None:
    await platform.sip.start()
    try:
        await set_revision(platform, "0001")
        status, payload = await probe(http)
    finally:
        await set_revision(platform, head_revision())  # the PostgreSQL test database is kept
        await platform.sip.stop()
    assert (status, statuses(payload)["migrations"]) == (503, "fail")
    assert payload["checks"]["migrations"]["detail"] == f"at 0001, this version needs {head_revision()}"


async def set_revision(platform: Platform, revision: str | None) -> None:
    async with platform.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


@asynccontextmanager
async def unmigrated(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a platform built on `database_url` without migrating (or even reaching) it."""
    platform = await build_platform(make_settings(tmp_path, database_url), migrate=False)
    try:
        transport = httpx.ASGITransport(app=build_app(platform))
        async with httpx.AsyncClient(transport=transport, base_url="http://sipline.test") as client:
            yield client
    finally:
        await platform.close()


def absent_databases() -> list[str]:
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/sipline"  # nothing listens there
    if PG_URL is None:
        return [refused]
    url = make_url(PG_URL)
    missing = url.set(database=f"{url.database}_absent").render_as_string(hide_password=False)
    return [refused, missing]  # the server answers that the database does not exist


@pytest.mark.parametrize("url", absent_databases())
async def test_not_ready_when_the_database_is_unreachable(tmp_path: Path, url: str) -> None:
    async with unmigrated(tmp_path, url) as http:
        status, payload = await probe(http)
        assert (status, statuses(payload)) == (503, {"database": "fail", "migrations": "fail", "sip": "fail"})
        assert payload["checks"]["database"]["detail"].startswith("unreachable (")
        assert "127.0.0.1" not in str(payload)  # the database's address is logged, not shown
        assert await probe(http, "/healthz") == (200, {"status": "ok", "checks": {}})


async def test_not_ready_when_never_migrated(tmp_path: Path) -> None:
    async with unmigrated(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}") as http:
        status, payload = await probe(http)
    assert (status, statuses(payload)["database"], statuses(payload)["migrations"]) == (503, "ok", "fail")
    assert (
        payload["checks"]["migrations"]["detail"] == f"at no revision, this version needs {head_revision()}"
    )


async def test_a_report_is_reused_for_a_second(platform: Platform) -> None:
    now = [100.0]
    readiness = ReadinessProbe(platform.engine, platform.sip, clock=lambda: now[0])
    await platform.sip.start()
    try:
        assert is_ready(await readiness.check())
    finally:
        await platform.sip.stop()
    now[0] += 0.9
    assert is_ready(await readiness.check())  # the same report: no new query, SIP not looked at
    now[0] += 0.2
    assert not is_ready(await readiness.check())
