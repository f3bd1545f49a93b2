"""Registrar behaviour seen by a phone on a real socket (UDP and TCP)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from sipline.sip.ban import BanPolicy
from sipline.sip.bindings import Binding
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import Cache, CachedCredential, Credential, StaticCredentialSource
from sipline.sip.message import SipResponse
from sipline.sip.server import SipServer, SipServerConfig
from tests.sip.peer import RawPeer


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    credentials = StaticCredentialSource({"alice": "secret1", "bob": "secret2"})
    config = SipServerConfig(
        host="127.0.0.1",
        port=0,
        domain="sipline.test",
        min_expires=60,
        max_expires=3600,
        ban=BanPolicy(max_failures=4, window=60, ban_seconds=30, slow_after=2, slow_delay=0.2),
    )
    srv = SipServer(config, credentials, MemoryBindingStore())
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture(params=["udp", "tcp"])
async def peer(request: pytest.FixtureRequest, server: SipServer) -> AsyncIterator[RawPeer]:
    p = await RawPeer(server.port, request.param).open()
    yield p
    await p.close()


def contact_expires(response: object) -> dict[str, int]:
    assert isinstance(response, SipResponse)
    return {str(c.uri): int(c.params["expires"] or 0) for c in response.contacts}


async def test_register_with_digest_and_query(server: SipServer, peer: RawPeer) -> None:
    first, _ = await peer.register("alice", None)
    assert first is not None and first.status == 401
    offered = first.headers("WWW-Authenticate")
    assert [re.search(r"algorithm=([\w-]+)", c).group(1) for c in offered] == ["MD5"]  # type: ignore[union-attr]
    for _ in range(2):
        ok, _ = await peer.register("alice", "secret1")
        assert ok is not None and ok.status == 200
        assert contact_expires(ok) == {f"sip:alice@127.0.0.1:{peer.port}": 3600}
        assert ok.header("Date")
    bindings = await server.bindings_for("alice")
    assert len(bindings) == 1
    b = bindings[0]
    assert (b.transport, b.source_port, b.local_port) == (peer.transport, peer.port, server.port)
    assert (b.connection_id is None) == (peer.transport == "udp")
    query, _ = await peer.register("alice", "secret1", contact=None, expires=None)
    assert query is not None and query.status == 200 and len(query.contacts) == 1


async def test_wrong_password_and_unknown_user_look_identical(server: SipServer, peer: RawPeer) -> None:
    def normalise(response: object) -> str:
        assert isinstance(response, SipResponse)
        text = response.to_bytes().decode()
        for header in ("Via", "From", "To", "Call-ID", "CSeq"):
            text = re.sub(rf"^{header}: .*$", f"{header}: x", text, flags=re.M)
        return text

    wrong, _ = await peer.register("alice", "not-it")
    unknown, _ = await peer.register("mallory", "whatever")
    assert wrong is not None and wrong.status == 403
    assert normalise(wrong) == normalise(unknown)
    assert await server.bindings_for("alice") == []


async def test_expires_rules_and_unregister(server: SipServer, peer: RawPeer) -> None:
    brief, _ = await peer.register("bob", "secret2", expires=30)
    assert brief is not None and brief.status == 423 and brief.header("Min-Expires") == "60"
    capped, _ = await peer.register("bob", "secret2", expires=999999)
    assert capped is not None and contact_expires(capped) == {f"sip:bob@127.0.0.1:{peer.port}": 3600}
    second = "<sip:bob@192.0.2.7:5062>;expires=120"
    two, _ = await peer.register("bob", "secret2", contact=second, expires=None)
    assert two is not None and sorted(contact_expires(two).values()) == [120, 3600]
    one_gone, _ = await peer.register("bob", "secret2", contact="<sip:bob@192.0.2.7:5062>", expires=0)
    assert one_gone is not None and list(contact_expires(one_gone)) == [f"sip:bob@127.0.0.1:{peer.port}"]
    all_gone, _ = await peer.register("bob", "secret2", contact="*", expires=0)
    assert all_gone is not None and all_gone.status == 200 and all_gone.contacts == []
    assert await server.bindings_for("bob") == []


async def test_out_of_order_cseq_is_refused(server: SipServer, peer: RawPeer) -> None:
    ok, next_cseq = await peer.register("alice", "secret1", call_id="fixed-call", cseq=10)
    assert ok is not None and ok.status == 200
    stale, _ = await peer.register("alice", "secret1", call_id="fixed-call", cseq=3)
    assert stale is not None and stale.status == 500
    fresh, _ = await peer.register("alice", "secret1", call_id="fixed-call", cseq=next_cseq)
    assert fresh is not None and fresh.status == 200


async def test_to_must_match_authenticated_user(server: SipServer, peer: RawPeer) -> None:
    from sipline.sip.digest import DigestClient

    peer.send_raw(peer.build("REGISTER", "bob", call_id="x1", cseq=1))
    challenge = await peer.receive()
    assert challenge is not None
    md5 = [c for c in challenge.headers("WWW-Authenticate") if "MD5" in c]
    auth = DigestClient("alice", "secret1").authorization(md5, "REGISTER", f"sip:127.0.0.1:{server.port}")
    peer.send_raw(peer.build("REGISTER", "bob", call_id="x1", cseq=2, headers=[f"Authorization: {auth}"]))
    response = await peer.receive()
    assert response is not None and response.status == 403
    assert await server.bindings_for("bob") == []


async def test_password_reset_and_lock_apply_at_next_register(server: SipServer, peer: RawPeer) -> None:
    credentials = server.registrar.credentials
    assert isinstance(credentials, StaticCredentialSource)
    credentials.set("alice", "newpass")
    old, _ = await peer.register("alice", "secret1")
    assert old is not None and old.status == 403
    credentials.set("alice", Credential("alice", "newpass", enabled=False))
    locked, _ = await peer.register("alice", "newpass")
    assert locked is not None and locked.status == 403


async def test_stale_nonce_gets_stale_challenge(server: SipServer, peer: RawPeer) -> None:
    clock = server.registrar.digest
    real_clock = clock.clock
    first, _ = await peer.register("alice", None)
    assert first is not None
    clock.clock = lambda: real_clock() + 10_000  # the nonce is now long expired
    from sipline.sip.digest import DigestClient

    md5 = [c for c in first.headers("WWW-Authenticate") if "MD5" in c]
    auth = DigestClient("alice", "secret1").authorization(md5, "REGISTER", f"sip:127.0.0.1:{server.port}")
    peer.send_raw(peer.build("REGISTER", "alice", call_id="st", cseq=2, headers=[f"Authorization: {auth}"]))
    response = await peer.receive()
    assert response is not None and response.status == 401
    assert all("stale=true" in c for c in response.headers("WWW-Authenticate"))


async def test_options_and_other_methods(server: SipServer, peer: RawPeer) -> None:
    peer.send_raw(peer.build("OPTIONS", "ping", call_id="o1", cseq=1))
    ok = await peer.receive()
    assert ok is not None and ok.status == 200 and "REGISTER" in (ok.header("Allow") or "")
    peer.send_raw(peer.build("INVITE", "alice", call_id="i1", cseq=1))
    refused = await peer.receive()
    assert refused is not None and refused.status == 405


async def test_brute_force_source_is_banned(server: SipServer) -> None:
    attacker = await RawPeer(server.port).open()
    victim = await RawPeer(server.port).open()
    try:
        loop = asyncio.get_running_loop()
        answers, took = [], []
        for i in range(8):
            started = loop.time()
            answers.append((await attacker.register("alice", f"guess{i}", timeout=0.5))[0])
            took.append(loop.time() - started)
        statuses = [a.status if a is not None else None for a in answers]
        # rate-limited first: after 2 failures each rejection is held back (tarpit) ...
        assert max(took[:2]) < 0.2 <= min(took[2:4])
        # 4 failures tolerated, the 5th bans: silence from then on, whatever is sent
        assert statuses[:4] == [403] * 4 and statuses[5:] == [None] * 3
        assert server.failures.is_banned("127.0.0.1")
        good, _ = await attacker.register("alice", "secret1", timeout=0.4)
        assert good is None
        server.failures.unban("127.0.0.1")
        ok, _ = await victim.register("alice", "secret1")
        assert ok is not None and ok.status == 200
    finally:
        await attacker.close()
        await victim.close()


async def test_garbage_gets_400_or_silence_and_server_survives(server: SipServer, peer: RawPeer) -> None:
    peer.send_raw(
        b"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    bad = await peer.receive()
    assert bad is not None and bad.status == 400
    if peer.transport == "udp":
        peer.send_raw(b"\x00\xff" * 30000)  # 60 kB of junk in one datagram: dropped
        peer.send_raw(b"REGISTER sip:x SIP/2.0\r\n\r\n")
        await asyncio.sleep(0.1)
    ok, _ = await peer.register("alice", "secret1")
    assert ok is not None and ok.status == 200


class BrokenStore(MemoryBindingStore):
    def save_binding(self, binding: object) -> None:
        raise ConnectionError("database is down")


async def test_store_failure_gives_500_retry_after() -> None:
    config = SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test")
    srv = SipServer(config, StaticCredentialSource({"alice": "secret1"}), BrokenStore())
    await srv.start()
    peer = await RawPeer(srv.port).open()
    try:
        response, _ = await peer.register("alice", "secret1")
        assert response is not None and response.status == 500 and response.header("Retry-After") == "30"
    finally:
        await peer.close()
        await srv.stop()


class CountingStore(MemoryBindingStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def list_bindings(self, account: str) -> list[Binding]:
        self.calls += 1
        return super().list_bindings(account)

    def save_binding(self, binding: Binding) -> None:
        self.calls += 1
        super().save_binding(binding)


async def test_unauthenticated_traffic_never_touches_storage() -> None:
    store = CountingStore()
    credentials = StaticCredentialSource({"alice": "secret1"})
    config = SipServerConfig(
        host="127.0.0.1", port=0, domain="sipline.test", ban=BanPolicy(max_failures=1000)
    )
    srv = SipServer(config, credentials, store)
    await srv.start()
    peer = await RawPeer(srv.port).open()
    try:
        for user in ("alice", "bob", "admin"):
            challenge, _ = await peer.register(user, None)
            assert challenge is not None and challenge.status == 401
        forged = 'Digest username="alice", realm="sipline.test", nonce="1.2.3", uri="sip:x", response="00"'
        peer.send_raw(
            peer.build("REGISTER", "alice", call_id="f1", cseq=1, headers=[f"Authorization: {forged}"])
        )
        again = await peer.receive()
        assert again is not None and again.status == 401
        assert credentials.lookups == 0 and store.calls == 0
        wrong, _ = await peer.register("alice", "nope")
        assert wrong is not None and wrong.status == 403
        assert credentials.lookups == 1 and store.calls == 0  # one lookup, still no storage access
    finally:
        await peer.close()
        await srv.stop()


async def test_contact_validation(server: SipServer, peer: RawPeer) -> None:
    star, _ = await peer.register("alice", "secret1", contact="*", expires=3600)
    assert star is not None and star.status == 400
    bad, _ = await peer.register("alice", "secret1", contact="<sip:a@192.0.2.1>;expires=soon")
    assert bad is not None and bad.status == 400
    many = "<sip:a@192.0.2.1>;expires=600, <sip:a@192.0.2.2>;q=0.5"
    both, _ = await peer.register("alice", "secret1", contact=many, expires=1200)
    assert both is not None and contact_expires(both) == {"sip:a@192.0.2.1": 600, "sip:a@192.0.2.2": 1200}
    assert sorted((b.q or 1.0) for b in await server.bindings_for("alice")) == [0.5, 1.0]


async def test_expires_zero_parameter_removes_one_contact(server: SipServer, peer: RawPeer) -> None:
    two = "<sip:a@192.0.2.1>, <sip:a@192.0.2.2>"
    both, _ = await peer.register("alice", "secret1", contact=two, expires=600)
    assert both is not None and len(both.contacts) == 2
    one, _ = await peer.register("alice", "secret1", contact="<sip:a@192.0.2.1>;expires=0", expires=600)
    assert one is not None and contact_expires(one) == {"sip:a@192.0.2.2": 600}


async def test_challenges_keep_no_state(server: SipServer, peer: RawPeer) -> None:
    """RFC 3261 §8.2.7: unauthenticated REGISTERs are challenged without a transaction, so a flood
    of them costs no memory; a retransmission gets a fresh challenge with the same To tag."""
    from sipline.sip.digest import DigestClient

    request = peer.build("REGISTER", "alice", call_id="stateless-1", cseq=1)
    peer.send_raw(request)
    first = await peer.receive()
    peer.send_raw(request)  # a retransmission
    again = await peer.receive()
    assert first is not None and again is not None and first.status == again.status == 401
    assert first.to.tag is not None and first.to.tag == again.to.tag
    for i in range(200):
        peer.send_raw(peer.build("REGISTER", f"guess{i}", call_id=f"flood-{i}", cseq=1))
    answers = [await peer.receive() for _ in range(200)]
    assert all(a is not None and a.status == 401 for a in answers)
    assert server.transactions.server == {}  # nothing kept for any of them

    # both challenges of the retransmitted REGISTER can be answered
    for cseq, challenge in ((2, first), (3, again)):
        md5 = [c for c in challenge.headers("WWW-Authenticate") if "MD5" in c]
        auth = DigestClient("alice", "secret1").authorization(md5, "REGISTER", f"sip:127.0.0.1:{server.port}")
        headers = [f"Authorization: {auth}"]
        peer.send_raw(peer.build("REGISTER", "alice", call_id="stateless-1", cseq=cseq, headers=headers))
        ok = await peer.receive()
        assert ok is not None and ok.status == 200


class FetchedCredentials(StaticCredentialSource):
    """Nothing at hand: every REGISTER waits for a lookup (a cold directory)."""

    def cached(self, username: str) -> CachedCredential:
        return Cache.MISS


class UnreachableCredentials(FetchedCredentials):
    async def lookup(self, username: str) -> Credential | None:
        raise ConnectionError("database is down")


@pytest.mark.parametrize("source", [FetchedCredentials, UnreachableCredentials])
async def test_credentials_that_must_be_fetched(source: type[FetchedCredentials]) -> None:
    credentials = source({"alice": "secret1"})
    config = SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test")
    srv = SipServer(config, credentials, MemoryBindingStore())
    await srv.start()
    peer = await RawPeer(srv.port).open()
    try:
        ok, _ = await peer.register("alice", "secret1")
        wrong, _ = await peer.register("alice", "nope")
        assert ok is not None and wrong is not None
        if source is UnreachableCredentials:
            assert ok.status == wrong.status == 500 and ok.header("Retry-After") == "30"
            assert await srv.bindings_for("alice") == []
        else:
            assert (ok.status, wrong.status) == (200, 403)
            assert credentials.lookups == 2
            assert len(await srv.bindings_for("alice")) == 1
    finally:
        await peer.close()
        await srv.stop()
