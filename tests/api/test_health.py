"""GET /healthz and /readyz on real databases and a real SIP server (and real failures of each)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sipline.bootstrap import Platform, build_app, build_platform
from sipline.media.port import Leg
from sipline.services.readiness import ReadinessProbe, is_ready
from sipline.store.migrate import head_revision
from tests.conftest import PG_URL, free_port, free_ports, make_settings


async def serve(platform: Platform) -> None:
    await platform.sip.start()
    await platform.media.start()


async def stop_serving(platform: Platform) -> None:
    await platform.media.stop()
    await platform.sip.stop()


async def probe(http: httpx.AsyncClient, path: str = "/readyz") -> tuple[int, dict]:
    response = await http.get(path)  # no signature, no token
    payload = response.json()
    assert set(payload) == {"status", "checks"}
    return response.status_code, payload


def statuses(payload: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in payload["checks"].items()}


async def test_ready_once_sip_listens(platform: Platform, http: httpx.AsyncClient) -> None:
    await serve(platform)
    try:
        status, payload = await probe(http)
    finally:
        await stop_serving(platform)
    assert (status, payload["status"]) == (200, "ok")
    assert statuses(payload) == {"database": "ok", "migrations": "ok", "sip": "ok", "media": "ok"}
    assert payload["checks"]["migrations"]["detail"] == f"at {head_revision()}"
    assert payload["checks"]["sip"]["detail"] == f"udp, tcp listening on port {platform.sip.port}"
    pairs = platform.media.health().port_pairs
    assert payload["checks"]["media"]["detail"] == f"{pairs} of {pairs} RTP port pairs free"


async def test_not_ready_before_sip_starts(http: httpx.AsyncClient) -> None:
    status, payload = await probe(http)
    assert (status, payload["status"]) == (503, "fail")
    assert statuses(payload) == {"database": "ok", "migrations": "ok", "sip": "fail", "media": "fail"}
    assert payload["checks"]["sip"]["detail"] == "not listening: udp, tcp"
    assert payload["checks"]["media"]["detail"] == "the media relay is not running"


async def test_alive_whatever_readiness_says(http: httpx.AsyncClient) -> None:
    assert await probe(http, "/healthz") == (200, {"status": "ok", "checks": {}})


async def test_not_ready_when_the_schema_is_behind(platform: Platform, http: httpx.AsyncClient) -> None:
    await serve(platform)
    try:
        await set_revision(platform, "0001")
        status, payload = await probe(http)
    finally:
        await set_revision(platform, head_revision())  # the PostgreSQL test database is kept
        await stop_serving(platform)
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


def absent_database(kind: str) -> str:
    if kind == "refused":
        return f"postgresql://postgres@127.0.0.1:{free_port()}/sipline"  # nothing listens there
    assert PG_URL is not None
    url = make_url(PG_URL)  # the server answers that the database does not exist
    return url.set(database=f"{url.database}_absent").render_as_string(hide_password=False)


# By kind, not by URL: the ids are the same in every pytest-xdist worker.
@pytest.mark.parametrize("kind", ["refused", *(["missing"] if PG_URL else [])])
async def test_not_ready_when_the_database_is_unreachable(tmp_path: Path, kind: str) -> None:
    url = absent_database(kind)
    async with unmigrated(tmp_path, url) as http:
        status, payload = await probe(http)
        assert (status, statuses(payload)) == (
            503,
            {"database": "fail", "migrations": "fail", "sip": "fail", "media": "fail"},
        )
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
    readiness = ReadinessProbe(platform.engine, platform.sip, platform.media, clock=lambda: now[0])
    await serve(platform)
    try:
        assert is_ready(await readiness.check())
    finally:
        await stop_serving(platform)
    now[0] += 0.9
    assert is_ready(await readiness.check())  # the same report: no new query, SIP not looked at
    now[0] += 0.2
    assert not is_ready(await readiness.check())


class TestMediaPortsUsedUp:
    """A node whose RTP range cannot anchor another call is taken out of rotation until one ends."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        first = free_ports(6)
        first += first % 2  # pairs start on an even port: three of them fit in the six ports
        return {"rtp_port_min": first, "rtp_port_max": first + 3}  # two pairs: one call

    async def test_not_ready_while_every_port_pair_is_in_use(
        self, platform: Platform, http: httpx.AsyncClient
    ) -> None:
        await serve(platform)
        try:
            session = platform.media.allocate("busy-call", IgnoredMediaEvents())
            status, payload = await probe(http)
            session.release()
            await asyncio.sleep(1.1)  # the next probe checks anew (reports live for a second)
            status_after, payload_after = await probe(http)
        finally:
            await stop_serving(platform)
        assert (status, statuses(payload)["media"]) == (503, "fail")
        assert (
            payload["checks"]["media"]["detail"] == "no RTP ports free for another call (all 2 pairs in use)"
        )
        assert (status_after, payload_after["checks"]["media"]) == (
            200,
            {"status": "ok", "detail": "2 of 2 RTP port pairs free"},
        )


class IgnoredMediaEvents:
    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None: ...

    def media_timeout(self, idle_seconds: float) -> None: ...

    def media_activity(self, at: datetime) -> None: ...

    def recording_failed(self, reason: str) -> None: ...
