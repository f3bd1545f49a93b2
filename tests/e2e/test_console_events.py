"""The phones page's server-sent events over real HTTP (a `sipline serve` process): the registration
state as it changes, and a server that stops while a browser still listens."""

import json
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import CSRF, PASSWORD, admin_account
from tests.e2e.conftest import SIPLINE, Served

pytestmark = pytest.mark.slow


def _sign_in(served: Served, client: httpx.Client, api_key: str, *, create: bool = True) -> None:
    if create:
        command = [*SIPLINE, "admin", "user", "create", "alice@example.com", "--account", api_key]
        subprocess.run(
            [*command, "--password-stdin"],
            env=served.env, input=PASSWORD + "\n", text=True, capture_output=True, timeout=60, check=True,
        )  # fmt: skip
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token
    signed = client.post(
        "/console/login", data={"csrf": token.group(1), "email": "alice@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.text


def test_registration_events_and_a_stop_while_streaming(served: Served) -> None:
    account, app = admin_account(served)
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        _sign_in(served, client, str(account["apiKey"]))
        page = client.get("/console/phones")
        csrf = CSRF.search(page.text)
        assert csrf
        added = client.post(
            "/console/phones/groups",
            data={"csrf": csrf.group(1), "app": str(app["appId"]), "group_name": "office",
                  "phone_name": "desk", "quantity": "2", "display_num": "8610000000"},
        )  # fmt: skip
        assert added.status_code == 303, added.text
        with client.stream(
            "GET", "/console/phones/events", params={"app": str(app["appId"])}, timeout=30
        ) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = _first_event(events)
            # Signing out (on another connection) ends the stream at its next session check.
            assert client.post("/console/logout", data={"csrf": csrf.group(1)}).status_code == 303
            assert [line for line in lines if line] == []  # the server closed it, with no event more
        _sign_in(served, client, str(account["apiKey"]), create=False)
        with client.stream(
            "GET", "/console/phones/events", params={"app": str(app["appId"])}, timeout=30
        ) as events:
            _first_event(events)
            started = time.monotonic()
            served.stop()  # exits 0 within its 15 s although the stream never ends by itself
    assert time.monotonic() - started < 12


def _first_event(events: httpx.Response) -> Iterator[str]:
    """Reads up to the first registration event (every phone, unregistered); the rest of the lines."""
    lines = events.iter_lines()
    assert next(lines) == "retry: 2000"
    while not (line := next(lines)).startswith("data: "):
        pass
    first = json.loads(line.removeprefix("data: "))
    assert len(first) == 2 and all(state == {"registered": False} for state in first.values())
    return lines
