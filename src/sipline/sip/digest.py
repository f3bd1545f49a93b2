"""HTTP Digest for SIP (RFC 7616 / RFC 3261 §22): stateless expiring nonces, server and client side.

Nonces are ``<time>.<salt>.<hmac>`` so any node holding the secret can check them without
state; an expired nonce with an otherwise correct answer gets ``stale=true``. Nonce-count
replays are refused by remembering the highest ``nc`` per nonce while the nonce lives.
``AlgorithmPolicy`` decides which algorithms a challenge offers, in which order.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from sipline.sip.errors import SipParseError
from sipline.sip.grammar import split_outside_quotes, unquote
from sipline.sip.random_ids import random_hex

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
SUPPORTED_ALGORITHMS = ("SHA-256", "MD5")
# One MD5 challenge, as Kamailio, Asterisk and FreeSWITCH send by default: measured, baresip 1.0
# fails on any SHA-256 challenge even after an MD5 one, and SIPp 3.6 on a SHA-256 one first.
DEFAULT_CHALLENGE_ALGORITHMS = ("MD5",)


def _hash(algorithm: str, text: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    return _HASHES[base](text.encode("utf-8"))


# Fast path for the usual shape: name=token or name="text without escapes", comma-separated
_SIMPLE_PARAM = r'[ \t]*([A-Za-z0-9_\-]+)[ \t]*=[ \t]*(?:"([^"\\]*)"|([^",\s]+))[ \t]*'
_SIMPLE_PARAMS_RE = re.compile(rf"{_SIMPLE_PARAM}(?:,{_SIMPLE_PARAM})*")
_SIMPLE_PARAM_RE = re.compile(_SIMPLE_PARAM)


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``Digest a="b", c=d`` into ("digest", {"a": "b", "c": "d"}) with names lower-cased."""
    scheme, _, rest = value.strip().partition(" ")
    if _SIMPLE_PARAMS_RE.fullmatch(rest):
        found = {name.lower(): quoted or token for name, quoted, token in _SIMPLE_PARAM_RE.findall(rest)}
        return scheme.lower(), found
    params: dict[str, str] = {}
    for item in split_outside_quotes(rest, ","):
        item = item.strip()
        if not item:
            continue
        name, eq, raw = item.partition("=")
        if not eq:
            raise SipParseError(f"bad auth parameter {item[:40]!r}")
        params[name.strip().lower()] = unquote(raw.strip())
    return scheme.lower(), params


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1; RFC 2617 form when qop is absent)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """An Authorization / Proxy-Authorization header, parsed."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        scheme, p = parse_auth_header(value)
        if scheme != "digest":
            raise SipParseError(f"unsupported auth scheme {scheme[:20]!r}")
        try:
            return cls(
                username=p["username"],
                realm=p["realm"],
                nonce=p["nonce"],
                uri=p["uri"],
                response=p["response"].lower(),
                algorithm=p.get("algorithm", "MD5").upper(),
                qop=p.get("qop"),
                nc=p.get("nc"),
                cnonce=p.get("cnonce"),
                opaque=p.get("opaque"),
            )
        except KeyError as missing:
            raise SipParseError(f"digest credentials without {missing}") from None


class Verdict(Enum):
    OK = "ok"
    STALE = "stale"  # right password, nonce expired or replayed: re-challenge with stale=true
    BAD_NONCE = "bad-nonce"  # not our nonce / other realm / unknown algorithm: fresh challenge
    WRONG = "wrong"  # wrong password (or unknown user): an authentication failure


@dataclass
class DigestServer:
    """Issues challenges and checks answers for one realm."""

    realm: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    nonce_lifetime: float = 300.0
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    clock: Callable[[], float] = time.time
    max_tracked_nonces: int = 200_000  # bound on the replay table (oldest forgotten first)
    # nonce -> (highest nc, first seen); insertion order = first-seen order, so expiry pops the front
    _nc_seen: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)

    def new_nonce(self) -> str:
        stamp = f"{int(self.clock()):x}.{random_hex(6)}"
        return f"{stamp}.{self._sign(stamp)}"

    def _sign(self, stamp: str) -> str:
        return _nonce_signature(self.secret, self.realm, stamp)

    def challenges(self, *, stale: bool = False, algorithms: tuple[str, ...] | None = None) -> list[str]:
        """WWW-Authenticate values, strongest algorithm first (all share one nonce)."""
        nonce = self.new_nonce()
        suffix = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={alg}, qop="auth"{suffix}'
            for alg in (algorithms or self.algorithms)
        ]

    def nonce_status(self, nonce: str) -> Verdict:
        """Cheap check before any credential lookup: is this a nonce we issued, still fresh?"""
        stamp, _, signature = nonce.rpartition(".")
        if not stamp or not hmac.compare_digest(signature, self._sign(stamp)):
            return Verdict.BAD_NONCE
        try:
            issued = int(stamp.partition(".")[0], 16)
        except ValueError:
            return Verdict.BAD_NONCE
        age = self.clock() - issued
        if age > self.nonce_lifetime or age < -60:
            return Verdict.STALE
        return Verdict.OK

    def precheck(self, creds: DigestCredentials) -> Verdict:
        if creds.realm != self.realm or creds.algorithm not in self.algorithms:
            return Verdict.BAD_NONCE
        if creds.qop is not None and (creds.qop != "auth" or not creds.nc or creds.cnonce is None):
            return Verdict.BAD_NONCE
        # an expired nonce passes here: verify() turns a correct answer into STALE
        return Verdict.BAD_NONCE if self.nonce_status(creds.nonce) is Verdict.BAD_NONCE else Verdict.OK

    def verify(self, creds: DigestCredentials, password: str | None, method: str) -> Verdict:
        """Full check; ``password=None`` (unknown user) costs the same and gives WRONG."""
        expected = digest_response(
            algorithm=creds.algorithm,
            username=creds.username,
            realm=self.realm,
            password=password if password is not None else secrets.token_hex(16),
            method=method,
            uri=creds.uri,
            nonce=creds.nonce,
            qop=creds.qop,
            nc=creds.nc,
            cnonce=creds.cnonce,
        )
        if password is None or not hmac.compare_digest(expected, creds.response):
            return Verdict.WRONG
        status = self.nonce_status(creds.nonce)
        if status is not Verdict.OK:
            return Verdict.STALE  # correct answer but old nonce: ask again with stale=true
        if creds.qop is not None and not self._fresh_nc(creds.nonce, creds.nc or ""):
            return Verdict.STALE
        return Verdict.OK

    def _fresh_nc(self, nonce: str, nc_text: str) -> bool:
        try:
            nc = int(nc_text, 16)
        except ValueError:
            return False
        seen = self._nc_seen.get(nonce)
        if seen is not None:
            if nc <= seen[0]:
                return False  # replayed (or reordered) answer
            self._nc_seen[nonce] = (nc, seen[1])
            return True
        now = self.clock()
        table = self._nc_seen
        horizon = now - self.nonce_lifetime  # seen before this: the nonce has expired anyway
        while table:
            oldest = next(iter(table))
            if table[oldest][1] >= horizon and len(table) < self.max_tracked_nonces:
                break
            del table[oldest]
        table[nonce] = (nc, now)
        return True


def challenge_algorithms(values: object) -> tuple[str, ...]:
    """The algorithms a server may offer, in order, from a setting: a list or "MD5,SHA-256".

    Raises ValueError saying what is wrong (unknown name, empty, repeated)."""
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, list | tuple):
        raise ValueError('must be a list of digest algorithms, e.g. ["MD5", "SHA-256"]')
    names = tuple(str(item).strip().upper() for item in items)
    if not names or names == ("",):
        raise ValueError("must name at least one digest algorithm (MD5, SHA-256)")
    for name in names:
        if name not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unknown digest algorithm {name[:20]!r}: use MD5 and/or SHA-256")
        if names.count(name) > 1:
            raise ValueError(f"names {name} twice")
    return names


class AlgorithmPolicy:
    """Which algorithms a challenge offers and in which order: one rule for every digest challenge
    (REGISTER today, INVITE authentication later).

    The configured order is offered, except that an account whose last successful answer used
    another of the offered algorithms gets that one first, once: it is remembered again when the
    account next authenticates, so a phone that cannot cope (replaced, or another device on the
    account) falls back to the configured order at its next attempt. A stale re-challenge leads
    with the algorithm the client has just answered with. The memory is bounded (oldest forgotten).
    """

    def __init__(
        self, algorithms: tuple[str, ...] = DEFAULT_CHALLENGE_ALGORITHMS, max_remembered: int = 100_000
    ) -> None:
        self.algorithms = challenge_algorithms(algorithms)
        if max_remembered < 1:
            raise ValueError("max_remembered must be at least 1")
        self.max_remembered = max_remembered
        # algorithm -> the offer led by it (the others in configured order): built once
        self._led_by = {alg: (alg, *(a for a in self.algorithms if a != alg)) for alg in self.algorithms}
        self._remembered: dict[str, str] = {}  # account -> algorithm that is not the configured first

    def offer(self, account: str | None) -> tuple[str, ...]:
        """The algorithms of a fresh challenge to ``account`` (None: not known), in order."""
        if not self._remembered or account is None:
            return self.algorithms
        algorithm = self._remembered.pop(account, None)
        return self.algorithms if algorithm is None else self._led_by[algorithm]

    def offer_stale(self, answered_with: str) -> tuple[str, ...]:
        """The algorithms of a stale=true re-challenge to a client that answered with ``answered_with``."""
        return self._led_by.get(answered_with, self.algorithms)

    def remember(self, account: str, algorithm: str) -> None:
        """Note the algorithm of ``account``'s successful answer."""
        if algorithm == self.algorithms[0] or algorithm not in self._led_by:
            self._remembered.pop(account, None)  # the configured order already leads with it
            return
        table = self._remembered
        table.pop(account, None)  # re-inserted at the end: insertion order is recency
        while len(table) >= self.max_remembered:
            del table[next(iter(table))]
        table[account] = algorithm

    def remembered(self, account: str) -> str | None:
        """The algorithm that will lead ``account``'s next fresh challenge, if not the configured first."""
        return self._remembered.get(account)


@functools.lru_cache(maxsize=4096)
def _nonce_signature(secret: bytes, realm: str, stamp: str) -> str:
    """HMAC of a nonce's stamp; cached because a REGISTER's nonce is checked twice in a row
    (before the credential lookup, and with the answer), and retransmissions repeat it."""
    return hmac.digest(secret, f"{stamp}:{realm}".encode(), "sha256")[:16].hex()


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        scheme, p = parse_auth_header(value)
        if scheme != "digest" or "nonce" not in p:
            raise SipParseError("not a digest challenge")
        qop = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
        return cls(
            realm=p.get("realm", ""),
            nonce=p["nonce"],
            algorithm=p.get("algorithm", "MD5").upper(),
            qop=qop,
            opaque=p.get("opaque"),
            stale=p.get("stale", "").lower() == "true",
        )


class DigestClient:
    """Answers 401/407 challenges for one set of credentials (e.g. a carrier trunk)."""

    def __init__(self, username: str, password: str, realm: str | None = None) -> None:
        self.username = username
        self.password = password
        self.realm = realm  # when set, challenges of other realms are not answered
        self._nc: dict[str, int] = {}

    def choose(self, challenges: list[str]) -> DigestChallenge:
        """Pick the strongest digest challenge we support."""
        parsed: list[DigestChallenge] = []
        for value in challenges:
            try:
                challenge = DigestChallenge.parse(value)
            except SipParseError:
                continue
            if self.realm is not None and challenge.realm != self.realm:
                continue
            if challenge.algorithm in SUPPORTED_ALGORITHMS or challenge.algorithm.removesuffix("-SESS") in (
                SUPPORTED_ALGORITHMS
            ):
                parsed.append(challenge)
        if not parsed:
            raise SipParseError("no supported digest challenge")
        order = {alg: i for i, alg in enumerate(("SHA-256", "SHA-256-SESS", "MD5", "MD5-SESS"))}
        return min(parsed, key=lambda c: order.get(c.algorithm, 99))

    def authorization(self, challenges: list[str], method: str, uri: str) -> str:
        """The Authorization/Proxy-Authorization header value answering ``challenges``."""
        challenge = self.choose(challenges)
        qop = "auth" if "auth" in challenge.qop else None
        nc = cnonce = None
        if qop:
            count = self._nc.get(challenge.nonce, 0) + 1
            self._nc[challenge.nonce] = count
            nc, cnonce = f"{count:08x}", secrets.token_hex(8)
        response = digest_response(
            algorithm=challenge.algorithm,
            username=self.username,
            realm=challenge.realm,
            password=self.password,
            method=method,
            uri=uri,
            nonce=challenge.nonce,
            qop=qop,
            nc=nc,
            cnonce=cnonce,
        )
        parts = [
            f'Digest username="{self.username}"',
            f'realm="{challenge.realm}"',
            f'nonce="{challenge.nonce}"',
            f'uri="{uri}"',
            f'response="{response}"',
            f"algorithm={challenge.algorithm}",
        ]
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if challenge.opaque is not None:
            parts.append(f'opaque="{challenge.opaque}"')
        return ", ".join(parts)
