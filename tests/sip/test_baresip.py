"""baresip (a real softphone) registering to the in-process SipServer over UDP and TCP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sipline.sip.bindings import Binding
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.message import SipRequest
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.transaction import new_tag
from tests.conftest import free_ports
from tests.sip import baresip
from tests.sip.baresip import Baresip, wait_for
from tests.sip.conftest import BARESIP, need

pytestmark = pytest.mark.interop


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    need(BARESIP)
    credentials = StaticCredentialSource({"alice": "secret1", "bob": "secret2"})
    srv = SipServer(SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test"), credentials,
                    MemoryBindingStore())  # fmt: skip
    await srv.start()
    yield srv
    await srv.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_baresip_registers_and_unregisters(server: SipServer, tmp_path: Path, transport: str) -> None:
    suffix = ";transport=tcp" if transport == "tcp" else ""
    phone = Baresip(tmp_path / "alice", f"<sip:alice@127.0.0.1:{server.port}{suffix}>;auth_pass=secret1;"
                                        "answermode=auto;regint=300")  # fmt: skip
    await phone.start()
    try:
        bindings: list[Binding] = []

        async def registered() -> bool:
            bindings[:] = await server.bindings_for("alice")
            return bool(bindings)

        assert await wait_for(registered, 10), phone.log()
        binding = bindings[0]
        assert binding.transport == transport
        assert binding.contact.startswith("sip:alice-") or binding.contact.startswith("sip:alice@")
        assert "baresip" in (binding.user_agent or "")
        # regint=300, counted from the REGISTER just seen: 50 s of room for a loaded machine
        assert 250 <= binding.remaining_seconds(datetime.now(UTC)) <= 300
        if transport == "tcp":
            assert binding.connection_id is not None
            assert server.transport.is_connected(binding.flow())
        # the platform can reach the phone through the flow it registered on
        host, port = binding.local_host, binding.local_port
        options = SipRequest("OPTIONS", binding.contact, [
            ("Max-Forwards", "70"), ("From", f"<sip:sipline@{host}:{port}>;tag={new_tag()}"),
            ("To", f"<{binding.contact}>"), ("Call-ID", new_tag()), ("CSeq", "1 OPTIONS"),
        ])  # fmt: skip
        answer = await server.send_request(options, binding.flow()).final_response()
        assert answer.status == 200 and "baresip" in (
            answer.header("User-Agent") or answer.header("Server") or ""
        )
        # a clean quit un-registers (Expires: 0) while the registrar is up
        await phone.command("quit")

        async def unregistered() -> bool:
            return not await server.bindings_for("alice")

        assert await wait_for(unregistered, 10), phone.log()
    finally:
        await phone.kill()


async def test_baresip_with_wrong_password_is_not_registered(server: SipServer, tmp_path: Path) -> None:
    phone = Baresip(tmp_path / "bob", f"<sip:bob@127.0.0.1:{server.port}>;auth_pass=nope;regint=300")
    await phone.start()
    try:

        async def rejected() -> bool:
            return "403" in phone.log()

        assert await wait_for(rejected, 10), phone.log()
        assert await server.bindings_for("bob") == []
    finally:
        await phone.kill()


@pytest.mark.parametrize("taken", ["sip", "tls"])
async def test_helper_starts_again_on_new_ports_when_one_was_taken(
    server: SipServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: str
) -> None:
    # Another process binds the picked SIP port (or SIP + 1, for TLS) before baresip does.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1] - (1 if taken == "tls" else 0)
    picks = [busy]

    def first_pick_taken(count: int, exclude: Collection[int] = ()) -> int:
        return picks.pop() if picks and count == 2 else free_ports(count, exclude)

    monkeypatch.setattr(baresip, "free_ports", first_pick_taken)
    phone = Baresip(tmp_path / "alice", f"<sip:alice@127.0.0.1:{server.port}>;auth_pass=secret1;regint=300")
    try:
        await phone.start()
        assert f"sip_listen\t\t127.0.0.1:{busy}\n" not in (tmp_path / "alice" / "config").read_text()
        assert await wait_for(lambda: _has_bindings(server, "alice"), 10), phone.log()
    finally:
        await phone.kill()
        blocker.close()
    assert picks == []  # the taken port was tried first


async def _has_bindings(server: SipServer, account: str) -> bool:
    return bool(await server.bindings_for(account))
