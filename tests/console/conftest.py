"""Console fixtures: the real app over HTTP (httpx in-process), users, and signed-in browsers-to-be."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from sipline.bootstrap import Platform, build_app
from sipline.services import console_users
from tests.conftest import ADMIN_TOKEN, Customer
from tests.e2e.conftest import Served

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """One browser's session with the console: its own cookie jar."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.http.get("/console/login")
        token = _csrf_of(page.text)
        response = await self.http.post(
            "/console/login", data={"csrf": token, "email": email, "password": password}
        )
        if response.status_code == 303:
            landing = await self.http.get(response.headers["location"])
            self.csrf = _csrf_of(landing.text)
        return response

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params)

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body["csrf"] = self.csrf
        return await self.http.post(path, data=body)

    async def upload(
        self, path: str, files: dict[str, tuple[str, bytes, str]], data: dict[str, str] | None = None
    ) -> httpx.Response:
        """A multipart form, as a browser sends a file input (the CSRF token as a field)."""
        return await self.http.post(path, data={**(data or {}), "csrf": self.csrf}, files=files)

    async def htmx(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """As htmx sends it: the CSRF token in the X-CSRF-Token header."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return await self.http.post(path, data=data or {}, headers=headers)


def _csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the least work: the same hashes and checks, without ~0.3 s of CPU per sign-in
    (the browser tests' server keeps the real parameters)."""
    monkeypatch.setattr(console_users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return build_app(platform)


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[Callable[..., Awaitable[Console]]]:
    """Opens a fresh console client (cookie jar) per call, from a given client address."""
    async with AsyncExitStack() as stack:

        async def open_console(address: str = "127.0.0.1", base_url: str = "http://sipline.test") -> Console:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url=base_url))
            return Console(http)

        yield open_console


async def customer_user(platform: Platform, customer: Customer, email: str = "alice@example.com") -> str:
    await platform.console_users.create(email, PASSWORD, api_key=customer.api_key)
    return email


@pytest.fixture
async def signed_in(
    platform: Platform, customer: Customer, browsers: Callable[..., Awaitable[Console]]
) -> Console:
    """Customer `customer`'s user, signed in."""
    console = await browsers()
    response = await console.sign_in(await customer_user(platform, customer))
    assert response.status_code == 303, response.text
    return console


@pytest.fixture
async def operator(platform: Platform, browsers: Callable[..., Awaitable[Console]]) -> Console:
    """An operator's user, signed in."""
    await platform.console_users.create("root@example.com", PASSWORD, operator=True)
    console = await browsers()
    assert (await console.sign_in("root@example.com")).status_code == 303
    return console


def admin_account(served: Served, balance: str = "10") -> tuple[dict[str, str], dict[str, str]]:
    """An account and an app on a running server, through the admin API (faster than two CLI runs)."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=served.base_url, headers=auth, timeout=10) as admin:
        account = admin.post("/admin/accounts", json={"name": "Acme", "balance": balance}).json()["data"]
        app = admin.post("/admin/apps", json={"apiKey": account["apiKey"], "phoneLimit": 20}).json()["data"]
    return account, app
