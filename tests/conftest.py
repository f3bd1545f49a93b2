"""Fixtures: a real platform on a real database (SQLite always, PostgreSQL when configured).

Set SIPLINE_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/sipline_test) to run every
database-backed test on PostgreSQL as well; the database is emptied before each test. Under
pytest-xdist each worker has a database of its own beside it (``<name>_gw0``, ...), made at the start
and dropped at the end.
"""

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, text

from sipline.bootstrap import Platform, build_app, build_platform
from sipline.config import Settings
from sipline.domain.signing import compute_sign
from sipline.store.database import create_engine


def _worker_database(url: str | None) -> str | None:
    """The worker's own database under pytest-xdist (workers truncate tables: they cannot share one)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker is None:
        return url
    base = make_url(url)
    return base.set(database=f"{base.database}_{worker}").render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("SIPLINE_TEST_DATABASE_URL"))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
ADMIN_TOKEN = "test-admin-token"
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port free on both UDP and TCP (SIP listens on both)."""
    return free_ports(1)


def free_ports(count: int, exclude: Collection[int] = ()) -> int:
    """The first of `count` consecutive loopback ports, each free on both UDP and TCP, none in `exclude`.

    For a peer that opens several ports from one number (baresip: SIP on N, TLS on N + 1; SIPp: RTP
    on N and N + 2). Free when checked: a peer told a port in advance may still lose it to another
    process before it binds, so the peer helpers also retry their start on "address in use".
    """
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            first = int(udp.getsockname()[1])
        ports = range(first, first + count)
        if ports[-1] <= 65535 and not set(ports) & set(exclude) and all(map(port_free, ports)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def port_free(port: int) -> bool:
    """Whether the loopback port is free on both UDP and TCP right now."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
    ):
        try:
            udp.bind(("127.0.0.1", port))
            tcp.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class HeldPort:
    """A port picked and kept bound (UDP and TCP) until `release`, just before the peer it was promised
    to binds it: nothing else can take it in between (e.g. while a server told about it starts)."""

    def __init__(self) -> None:
        for _ in range(100):
            self.port = free_port()
            try:
                self.hold()
                return
            except OSError:  # taken since it was checked: pick another
                self.release()
        raise RuntimeError("no port to hold")

    def hold(self) -> None:
        """Bind the port; again once the peer it was released to is done with it (a trunk's port,
        configured once, served by one peer after another)."""
        self._sockets = [
            socket.socket(socket.AF_INET, kind) for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)
        ]
        for sock in self._sockets:
            sock.bind(("127.0.0.1", self.port))

    @property
    def released(self) -> bool:
        return all(sock.fileno() == -1 for sock in self._sockets)

    def release(self) -> int:
        for sock in self._sockets:
            sock.close()
        return self.port


async def _recreate_database(url: str, *, drop_only: bool = False) -> None:
    import asyncpg  # the PostgreSQL driver the platform uses

    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await conn.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    if PG_URL is not None and os.environ.get("PYTEST_XDIST_WORKER"):
        asyncio.run(_recreate_database(PG_URL))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if PG_URL is not None and os.environ.get("PYTEST_XDIST_WORKER"):
        asyncio.run(_recreate_database(PG_URL, drop_only=True))


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sipline.db'}"
    else:
        assert PG_URL is not None
        await _empty_postgres(PG_URL)
        yield PG_URL


# Kept as the migrations left them: the schema version, and the one-row change counter.
_KEPT_TABLES = ("alembic_version", "directory_version")


async def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        tables = (
            (await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))
            .scalars()
            .all()
        )
        emptied = [table for table in tables if table not in _KEPT_TABLES]
        if emptied:
            await conn.execute(text(f"TRUNCATE {', '.join(emptied)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "http_port": 0,
        "sip_port": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to run the platform with other settings."""
    return {}


@pytest.fixture
async def platform(
    tmp_path: Path, database_url: str, settings_overrides: dict[str, object]
) -> AsyncIterator[Platform]:
    built = await build_platform(make_settings(tmp_path, database_url, **settings_overrides))
    yield built
    await built.close()


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client talking to the real ASGI app in-process (client address 127.0.0.1)."""
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sipline.test") as client:
        yield client


@dataclass
class Customer:
    api_key: str
    api_secret: str
    app_id: str

    def headers(self, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": "application/json;charset=UTF-8",
            "Sign": compute_sign(self.api_key, self.api_secret, ts),
            "Timestamp": ts,
            "Api-Key": self.api_key,
        }


@pytest.fixture
async def customer(platform: Platform) -> Customer:
    created = await platform.tenancy.create_account(balance=Decimal("100"))
    app = await platform.tenancy.create_app(created.api_key, phone_limit=200)
    return Customer(created.api_key, created.api_secret, app.app_id)


class Api:
    """Signed calls to the voice API, answering the parsed envelope."""

    def __init__(self, http: httpx.AsyncClient, customer: Customer) -> None:
        self.http = http
        self.customer = customer

    async def post(self, path: str, body: object) -> dict[str, object]:
        response = await self.http.post(f"/voice/{path}", json=body, headers=self.customer.headers())
        assert response.status_code == 200, response.text
        payload: dict[str, object] = response.json()
        return payload

    async def add(
        self, group: str = "sipGroup", phone: str = "sip", quantity: int = 3, **extra: object
    ) -> dict[str, object]:
        body = {"groupName": group, "phoneName": phone, "quantity": quantity, "displayNum": "861000000"}
        body.update({"appId": self.customer.app_id}, **extra)
        return await self.post("sipAdd", body)

    async def query(
        self, current: object = 1, size: object = 25, app_id: str | None = None
    ) -> dict[str, object]:
        body = {"current": current, "size": size, "params": {"appId": app_id or self.customer.app_id}}
        return await self.post("sipQuery", body)


@pytest.fixture
def api(http: httpx.AsyncClient, customer: Customer) -> Api:
    return Api(http, customer)
