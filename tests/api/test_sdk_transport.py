"""The SDK's transport errors and retries, against real sockets: nothing listening, a server that hangs
up on every request, and one that never answers."""

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from sipline.client import AsyncClient, Client, SiplineClientError, SiplineError, SiplineTransportError
from tests.conftest import free_port


class Listener:
    """A TCP server on loopback that counts connections and hangs up on each (or holds it silent)."""

    def __init__(self, hang_up: bool) -> None:
        self.hang_up = hang_up
        self.connections = 0
        self.held: list[socket.socket] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.recv(65536)
            if self.hang_up:
                conn.close()
            else:
                self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hangs_up() -> Iterator[Listener]:
    listener = Listener(hang_up=True)
    yield listener
    listener.close()


@pytest.fixture
def silent() -> Iterator[Listener]:
    listener = Listener(hang_up=False)
    yield listener
    listener.close()


def test_nothing_listening_is_a_transport_error_not_an_api_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, "key", "secret") as client, pytest.raises(SiplineTransportError) as caught:
        client.sip_query("app")
    error = caught.value
    assert isinstance(error, SiplineClientError) and not isinstance(error, SiplineError)
    assert error.base_url == url and isinstance(error.__cause__, httpx.ConnectError)
    assert str(error).startswith(f"cannot reach the voice API at {url}: ")


def test_queries_are_retried_writes_never(hangs_up: Listener) -> None:
    with Client(hangs_up.url, "key", "secret", retries=2, retry_backoff=0) as client:
        for query in (
            lambda: client.sip_query("app"),
            lambda: client.record_sip("2612011200000000001"),
            lambda: client.record_group_query("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
            lambda: client.record_sip_query("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
        ):
            before = hangs_up.connections
            with pytest.raises(SiplineTransportError):
                query()
            assert hangs_up.connections - before == 3
        for write in (
            lambda: client.send_sip("app", "1000", "442079469001", "1008122211"),
            lambda: client.sip_add("app", "salesDesk", "sales", 1, "861000000"),
            lambda: client.sip_reset("app", "1000"),
        ):
            before = hangs_up.connections
            with pytest.raises(SiplineTransportError):
                write()
            assert hangs_up.connections - before == 1


def test_no_retries_unless_asked(hangs_up: Listener) -> None:
    with Client(hangs_up.url, "key", "secret") as client, pytest.raises(SiplineTransportError):
        client.sip_query("app")
    assert hangs_up.connections == 1


async def test_a_silent_server_times_out_and_the_async_client_retries_too(silent: Listener) -> None:
    async with AsyncClient(silent.url, "key", "secret", timeout=0.2, retries=1, retry_backoff=0) as client:
        with pytest.raises(SiplineTransportError) as caught:
            await client.record_sip("2612011200000000001")
    assert caught.value.detail == "no answer in time"
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert silent.connections == 2


def test_a_url_without_http_is_a_transport_error() -> None:
    with (
        Client("127.0.0.1:8080", "key", "secret", retries=3) as client,
        pytest.raises(SiplineTransportError) as caught,
    ):
        client.sip_query("app")
    assert "give http://HOST:PORT" in caught.value.detail


@pytest.mark.parametrize("retries", [-1, 11])
def test_retries_are_bounded(retries: int) -> None:
    with pytest.raises(ValueError, match=r"retries must be 0\.\.10"):
        Client("http://127.0.0.1:1", "key", "secret", retries=retries)
