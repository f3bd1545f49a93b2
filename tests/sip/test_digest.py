"""Digest: RFC test vectors, stale/expired nonces, replay, client answering our own challenges."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sipline.sip.digest import (
    AlgorithmPolicy,
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestServer,
    Verdict,
    digest_response,
)
from sipline.sip.errors import SipParseError


def test_rfc7616_and_rfc2617_vectors() -> None:
    common = dict(
        username="Mufasa",
        realm="http-auth@example.org",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop="auth",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert digest_response(algorithm="MD5", **common) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response(algorithm="SHA-256", **common) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert (
        digest_response(
            algorithm="MD5",
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> DigestServer:
    return DigestServer(realm="sipline.test", secret=b"k" * 32, nonce_lifetime=60, clock=clock)


def answer(server: DigestServer, password: str, *, algorithm: str, user: str = "alice") -> DigestCredentials:
    challenges = [c for c in server.challenges() if f"algorithm={algorithm}," in c]
    value = DigestClient(user, password).authorization(challenges, "REGISTER", "sip:sipline.test")
    return DigestCredentials.parse(value)


def test_challenges_offer_sha256_first_then_md5(server: DigestServer) -> None:
    offered = [DigestChallenge.parse(c) for c in server.challenges()]
    assert [c.algorithm for c in offered] == ["SHA-256", "MD5"]
    assert all(c.qop == ("auth",) and c.realm == "sipline.test" for c in offered)
    assert DigestClient("a", "b").choose(server.challenges()).algorithm == "SHA-256"


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_client_and_server_agree(server: DigestServer, algorithm: str) -> None:
    creds = answer(server, "s3cret", algorithm=algorithm)
    assert creds.algorithm == algorithm
    assert server.precheck(creds) is Verdict.OK
    assert server.verify(creds, "s3cret", "REGISTER") is Verdict.OK
    assert server.verify(answer(server, "wrong", algorithm=algorithm), "s3cret", "REGISTER") is Verdict.WRONG
    assert server.verify(creds, None, "REGISTER") is Verdict.WRONG  # unknown user looks the same


def test_replayed_nonce_count_is_refused(server: DigestServer) -> None:
    creds = answer(server, "pw", algorithm="MD5")
    assert server.verify(creds, "pw", "REGISTER") is Verdict.OK
    assert server.verify(creds, "pw", "REGISTER") is Verdict.STALE


def test_expired_nonce_is_stale_only_with_right_password(server: DigestServer, clock: Clock) -> None:
    creds = answer(server, "pw", algorithm="SHA-256")
    clock.now += 120
    assert server.precheck(creds) is Verdict.OK
    assert server.verify(creds, "pw", "REGISTER") is Verdict.STALE
    assert server.verify(creds, "nope", "REGISTER") is Verdict.WRONG
    assert all("stale=true" in c for c in server.challenges(stale=True))


def test_forged_nonce_and_other_realm_are_rejected_before_lookup(server: DigestServer) -> None:
    creds = answer(server, "pw", algorithm="MD5")
    forged = replace(creds, nonce=creds.nonce[:-1] + ("1" if creds.nonce.endswith("0") else "0"))
    other_realm = replace(creds, realm="evil.test")
    assert server.precheck(forged) is Verdict.BAD_NONCE
    assert server.precheck(other_realm) is Verdict.BAD_NONCE


def test_rfc2617_no_qop_answer(server: DigestServer) -> None:
    nonce = server.new_nonce()
    response = digest_response(
        algorithm="MD5",
        username="bob",
        realm="sipline.test",
        password="pw",
        method="REGISTER",
        uri="sip:sipline.test",
        nonce=nonce,
    )
    creds = DigestCredentials.parse(
        f'Digest username="bob", realm="sipline.test", nonce="{nonce}", uri="sip:sipline.test", '
        f'response="{response}"'
    )
    assert server.verify(creds, "pw", "REGISTER") is Verdict.OK


def test_bad_headers_raise_parse_error() -> None:
    with pytest.raises(SipParseError):
        DigestCredentials.parse("NoOneKnowsThisScheme opaque-data=here")
    with pytest.raises(SipParseError):
        DigestCredentials.parse('Digest username="x"')
    with pytest.raises(SipParseError):
        DigestClient("a", "b").choose(['Digest realm="r", nonce="n", algorithm=SHA-512-256'])


def test_replay_table_stays_bounded(server: DigestServer, clock: Clock) -> None:
    server.max_tracked_nonces = 50
    for _ in range(200):
        assert server.verify(answer(server, "pw", algorithm="MD5"), "pw", "REGISTER") is Verdict.OK
    assert len(server._nc_seen) <= 50
    clock.now += 61  # everything seen so far belongs to expired nonces
    assert server.verify(answer(server, "pw", algorithm="MD5"), "pw", "REGISTER") is Verdict.OK
    assert len(server._nc_seen) == 1


def test_default_policy_offers_one_md5_challenge_and_remembers_nothing() -> None:
    policy = AlgorithmPolicy()
    assert policy.offer("alice") == ("MD5",)
    policy.remember("alice", "MD5")
    policy.remember("alice", "SHA-256")  # not offered: cannot lead
    assert policy.remembered("alice") is None and policy.offer("alice") == ("MD5",)


def test_remembered_algorithm_leads_the_next_fresh_challenge_once() -> None:
    policy = AlgorithmPolicy(("MD5", "SHA-256"))
    assert policy.offer("alice") == ("MD5", "SHA-256")
    policy.remember("alice", "SHA-256")
    assert policy.offer("bob") == ("MD5", "SHA-256")  # per account
    assert policy.offer("alice") == ("SHA-256", "MD5")
    # not answered (another device on the account, a phone replaced): the configured order again
    assert policy.offer("alice") == ("MD5", "SHA-256")
    policy.remember("alice", "SHA-256")
    policy.remember("alice", "MD5")  # its latest success used the configured first: nothing to remember
    assert policy.offer("alice") == ("MD5", "SHA-256")
    assert policy.offer(None) == ("MD5", "SHA-256")


def test_stale_rechallenge_leads_with_the_answering_clients_algorithm() -> None:
    policy = AlgorithmPolicy(("MD5", "SHA-256"))
    assert policy.offer_stale("SHA-256") == ("SHA-256", "MD5")
    assert policy.offer_stale("MD5") == ("MD5", "SHA-256")
    assert AlgorithmPolicy(("SHA-256",)).offer_stale("MD5") == ("SHA-256",)


def test_remembered_algorithms_stay_bounded() -> None:
    policy = AlgorithmPolicy(("MD5", "SHA-256"), max_remembered=3)
    for account in ("a", "b", "c", "d"):
        policy.remember(account, "SHA-256")
    assert [policy.remembered(account) for account in ("a", "b", "c", "d")] == [
        None,
        "SHA-256",
        "SHA-256",
        "SHA-256",
    ]
    policy.remember("b", "SHA-256")  # a success makes it the most recent
    policy.remember("e", "SHA-256")
    assert [policy.remembered(account) for account in ("b", "c", "d", "e")] == [
        "SHA-256",
        None,
        "SHA-256",
        "SHA-256",
    ]


@pytest.mark.parametrize("bad", [(), ("MD5", "MD5"), ("SHA-512",), ("MD5-sess",)])
def test_policy_refuses_what_it_cannot_offer(bad: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        AlgorithmPolicy(bad)


def test_policy_memory_holds_at_least_one_account() -> None:
    with pytest.raises(ValueError, match="max_remembered"):
        AlgorithmPolicy(("MD5", "SHA-256"), max_remembered=0)
