"""Which digest algorithms the registrar offers, seen by a phone on a real socket (UDP and TCP).

The phone here is the project's own digest client, which answers the strongest challenge it
supports (SHA-256 when offered); MD5-only peers (SIPp, baresip) are in the SIPp and baresip tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import StaticCredentialSource
from sipline.sip.digest import DigestClient, DigestCredentials
from sipline.sip.message import SipResponse
from sipline.sip.server import SipServer, SipServerConfig
from tests.sip.peer import RawPeer

USERS = {"alice": "secret1", "bob": "secret2"}
_calls = itertools.count(1)

OpenServer = Callable[..., Awaitable[tuple[SipServer, RawPeer]]]  # (*digest_algorithms)


@pytest.fixture(params=["udp", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def servers(transport: str) -> AsyncIterator[OpenServer]:
    """Start servers configured with given digest algorithms; a peer on ``transport`` for each."""
    opened: list[tuple[SipServer, RawPeer]] = []

    async def open_server(*algorithms: str) -> tuple[SipServer, RawPeer]:
        extra = {"digest_algorithms": algorithms} if algorithms else {}
        config = SipServerConfig(host="127.0.0.1", port=0, domain="sipline.test", **extra)  # type: ignore[arg-type]
        server = SipServer(config, StaticCredentialSource(USERS), MemoryBindingStore())
        await server.start()
        peer = await RawPeer(server.port, transport).open()
        opened.append((server, peer))
        return server, peer

    yield open_server
    for server, peer in opened:
        await peer.close()
        await server.stop()


def offered(response: SipResponse | None) -> list[str]:
    """The algorithms of a 401's challenges, in order."""
    assert response is not None and response.status == 401, response
    return [re.search(r"algorithm=([\w-]+)", c).group(1) for c in response.headers("WWW-Authenticate")]  # type: ignore[union-attr]


async def challenge(peer: RawPeer, user: str) -> SipResponse | None:
    peer.send_raw(peer.build("REGISTER", user, call_id=f"alg-{next(_calls)}", cseq=1, expires=3600))
    return await peer.receive()


async def register(peer: RawPeer, user: str) -> tuple[list[str], str, SipResponse | None]:
    """REGISTER, answer the 401 as a SHA-256-capable phone: (offered, algorithm used, final answer)."""
    call_id = f"alg-{next(_calls)}"
    peer.send_raw(peer.build("REGISTER", user, call_id=call_id, cseq=1, expires=3600))
    first = await peer.receive()
    host, port = peer.server
    auth = DigestClient(user, USERS[user]).authorization(first.headers("WWW-Authenticate"), "REGISTER",  # type: ignore[union-attr]
                                                         f"sip:{host}:{port}")  # fmt: skip
    peer.send_raw(peer.build("REGISTER", user, call_id=call_id, cseq=2, expires=3600,
                             headers=[f"Authorization: {auth}"]))  # fmt: skip
    return offered(first), DigestCredentials.parse(auth).algorithm, await peer.receive()


async def test_default_is_one_md5_challenge_on_the_stateless_and_the_stateful_path(
    servers: OpenServer,
) -> None:
    server, peer = await servers()
    assert offered(await challenge(peer, "alice")) == ["MD5"]  # stateless (RFC 3261 §8.2.7)
    server.transactions.stateless = None  # every REGISTER now gets a transaction
    assert offered(await challenge(peer, "alice")) == ["MD5"]
    algorithms, used, answer = await register(peer, "alice")
    assert (algorithms, used) == (["MD5"], "MD5") and answer is not None and answer.status == 200
    assert len(await server.bindings_for("alice")) == 1


@pytest.mark.parametrize("stateless", [True, False])
async def test_sha256_client_authenticates_with_sha256_when_configured(
    servers: OpenServer, stateless: bool
) -> None:
    for algorithms in (("SHA-256",), ("SHA-256", "MD5")):
        server, peer = await servers(*algorithms)
        if not stateless:
            server.transactions.stateless = None
        offer, used, answer = await register(peer, "alice")
        assert offer == list(algorithms) and used == "SHA-256"
        assert answer is not None and answer.status == 200
        assert len(await server.bindings_for("alice")) == 1


async def test_md5_answer_is_not_accepted_when_only_sha256_is_offered(servers: OpenServer) -> None:
    server, peer = await servers("SHA-256")
    peer.send_raw(peer.build("REGISTER", "alice", call_id="md5-1", cseq=1))
    md5_challenge = [c.replace("algorithm=SHA-256", "algorithm=MD5") for c in (await peer.receive()).headers(  # type: ignore[union-attr]
        "WWW-Authenticate")]  # fmt: skip
    auth = DigestClient("alice", "secret1").authorization(
        md5_challenge, "REGISTER", f"sip:127.0.0.1:{server.port}"
    )
    peer.send_raw(
        peer.build("REGISTER", "alice", call_id="md5-1", cseq=2, headers=[f"Authorization: {auth}"])
    )
    assert offered(await peer.receive()) == ["SHA-256"]  # challenged again, not registered
    assert await server.bindings_for("alice") == []


@pytest.mark.parametrize("stateless", [True, False])
async def test_account_that_used_sha256_is_challenged_sha256_first(
    servers: OpenServer, stateless: bool
) -> None:
    server, peer = await servers("MD5", "SHA-256")
    if not stateless:
        server.transactions.stateless = None
    offer, used, answer = await register(peer, "alice")
    assert (offer, used) == (["MD5", "SHA-256"], "SHA-256") and answer is not None and answer.status == 200
    assert offered(await challenge(peer, "bob")) == ["MD5", "SHA-256"]  # remembered per account
    offer, used, answer = await register(peer, "alice")
    assert (offer, used) == (["SHA-256", "MD5"], "SHA-256") and answer is not None and answer.status == 200
    # a device on the account that does not answer (e.g. a replaced, MD5-only phone) is offered
    # the configured order at its next attempt
    assert offered(await challenge(peer, "alice")) == ["SHA-256", "MD5"]
    assert offered(await challenge(peer, "alice")) == ["MD5", "SHA-256"]


async def test_stale_rechallenge_leads_with_the_algorithm_just_used(servers: OpenServer) -> None:
    server, peer = await servers("MD5", "SHA-256")
    first = await challenge(peer, "alice")
    digest = server.registrar.digest
    real_clock = digest.clock
    digest.clock = lambda: real_clock() + 10_000  # the nonce is now long expired
    auth = DigestClient("alice", "secret1").authorization(first.headers("WWW-Authenticate"), "REGISTER",  # type: ignore[union-attr]
                                                          f"sip:127.0.0.1:{server.port}")  # fmt: skip
    assert DigestCredentials.parse(auth).algorithm == "SHA-256"
    peer.send_raw(peer.build("REGISTER", "alice", call_id="st", cseq=2, headers=[f"Authorization: {auth}"]))
    stale = await peer.receive()
    assert offered(stale) == ["SHA-256", "MD5"]
    assert all("stale=true" in c for c in stale.headers("WWW-Authenticate"))  # type: ignore[union-attr]
