"""RFC 3261 §10 registrar with digest authentication and brute-force protection.

Order of work per REGISTER is chosen so that unauthenticated traffic stays cheap: ban check,
then challenge (no lookup, no transaction state: RFC 3261 §8.2.7), then nonce HMAC check (no
lookup), and only then one credential lookup; bindings are read or written only after the digest
verified. Credentials at hand and bindings in memory let a REGISTER be answered where it arrives;
only a credential that must be fetched (or a tarpit delay) costs a task.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sipline.sip.ban import AuthFailureTracker, BanPolicy
from sipline.sip.bindings import Binding, BindingStore
from sipline.sip.credentials import Cache, Credential, CredentialSource
from sipline.sip.digest import (
    DEFAULT_CHALLENGE_ALGORITHMS,
    AlgorithmPolicy,
    DigestCredentials,
    DigestServer,
    Verdict,
)
from sipline.sip.errors import SipParseError
from sipline.sip.headers import NameAddr
from sipline.sip.message import SipRequest, SipResponse, make_response
from sipline.sip.transaction import ServerTransaction

log = logging.getLogger(__name__)

Pending = Coroutine[Any, Any, None]


@dataclass(frozen=True)
class RegistrarConfig:
    realm: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    nonce_lifetime: float = 300.0
    nonce_secret: bytes | None = None  # share it between nodes; random per process if None
    algorithms: tuple[str, ...] = DEFAULT_CHALLENGE_ALGORITHMS  # offered in this order (AlgorithmPolicy)
    ban: BanPolicy = field(default_factory=BanPolicy)


class _Reject(Exception):
    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        *,
        delay: float = 0.0,
    ):
        super().__init__(status)
        self.status = status
        self.reason = reason
        self.headers = headers or []
        self.delay = delay  # answer only after this many seconds (tarpit)


class Registrar:
    on_binding: Callable[[Binding], None] | None = None  # told of each saved binding (holds its TCP flow)

    def __init__(
        self,
        config: RegistrarConfig,
        credentials: CredentialSource,
        bindings: BindingStore,
        *,
        failures: AuthFailureTracker | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.bindings = bindings
        self.failures = failures or AuthFailureTracker(config.ban)
        self.now = now
        self.digest = DigestServer(
            realm=config.realm, nonce_lifetime=config.nonce_lifetime, algorithms=config.algorithms
        )
        if config.nonce_secret:
            self.digest.secret = config.nonce_secret
        self.algorithm_policy = AlgorithmPolicy(config.algorithms)

    # -- entry points --------------------------------------------------------------------
    def stateless_challenge(self, request: SipRequest) -> SipResponse | None:
        """The 401 for a REGISTER that carries no credentials worth a lookup, or None.

        Sent without a transaction (RFC 3261 §8.2.7: a flood of unauthenticated requests must
        not create state); a retransmission simply gets a fresh challenge. None means the
        REGISTER needs the stateful path (credentials to check, or a 400 to give).
        """
        try:
            if self._screened(request) is not None:
                return None
        except (_Reject, SipParseError):
            return None
        # the To tag must be the same for a retransmission of the same request (§8.2.7)
        key = f"{request.top_via.branch}|{request.call_id}|{request.from_.tag}".encode()
        to_tag = hashlib.blake2s(key, digest_size=8).hexdigest()
        return make_response(request, 401, to_tag=to_tag, headers=self._fresh_challenge(request))

    def register(self, tx: ServerTransaction) -> Pending | None:
        """Answer a REGISTER server transaction; never raises for peer errors.

        Returns None when it was answered at once, else a coroutine to run as a task (the
        credential has to be fetched, or a failed guess is answered late).
        """
        creds = self._screen(tx)
        if creds is None:
            return None
        try:
            credential = self.credentials.cached(creds.username)
        except Exception:
            self._internal_error(tx)
            return None
        if credential is Cache.MISS:
            return self._lookup_then_finish(tx, creds)
        return self._finish(tx, creds, credential)

    # -- authentication ----------------------------------------------------------------
    def _screen(self, tx: ServerTransaction) -> DigestCredentials | None:
        """The lookup-free part: answers (401, 400) and returns None, or returns the credentials."""
        try:
            creds = self._screened(tx.request)
            if creds is None:  # first REGISTER, unknown scheme, other realm, forged nonce
                tx.reply(401, headers=self._fresh_challenge(tx.request))
            return creds
        except _Reject as reject:
            tx.reply(reject.status, reject.reason, headers=reject.headers)
        except SipParseError as exc:
            tx.reply(400, f"Bad Request ({exc})"[:100])
        return None

    def _screened(self, request: SipRequest) -> DigestCredentials | None:
        """Our realm's digest credentials with a nonce we issued (checked by HMAC), or None;
        raises _Reject for a To that is no SIP AOR.

        Asked before the transaction exists and again in it: worked out once per request."""
        to_uri = request.to.uri
        if not to_uri.is_sip or not to_uri.user:
            raise _Reject(400, "Bad Request (To must be a SIP AOR with a user)")
        return request.derived("registrar.credentials", functools.partial(self._screen_credentials, request))

    def _screen_credentials(self, request: SipRequest) -> DigestCredentials | None:
        creds = self._our_credentials(request.headers("Authorization"))
        if creds is None or self.digest.precheck(creds) is not Verdict.OK:
            return None
        return creds

    # Which algorithms, in which order: AlgorithmPolicy decides, whatever the User-Agent says.
    def _fresh_challenge(self, request: SipRequest) -> list[tuple[str, str]]:
        return self.challenge(request.to.uri.user, "WWW-Authenticate")

    def _stale_challenge(self, creds: DigestCredentials) -> list[tuple[str, str]]:
        return self.stale_challenge(creds, "WWW-Authenticate")

    def challenge(self, account: str | None, header: str) -> list[tuple[str, str]]:
        """A fresh challenge for ``account`` in ``header`` (WWW- or Proxy-Authenticate): REGISTER
        and INVITE offer the same algorithms in the same order."""
        offer = self.algorithm_policy.offer(account)
        return [(header, value) for value in self.digest.challenges(algorithms=offer)]

    def stale_challenge(self, creds: DigestCredentials, header: str) -> list[tuple[str, str]]:
        """``stale=true``, leading with the algorithm the client has just answered with."""
        offer = self.algorithm_policy.offer_stale(creds.algorithm)
        return [(header, value) for value in self.digest.challenges(stale=True, algorithms=offer)]

    async def _lookup_then_finish(self, tx: ServerTransaction, creds: DigestCredentials) -> None:
        try:
            credential = await self.credentials.lookup(creds.username)
        except Exception:
            self._internal_error(tx)
            return
        pending = self._finish(tx, creds, credential)
        if pending is not None:
            await pending

    def _finish(
        self, tx: ServerTransaction, creds: DigestCredentials, credential: Credential | None
    ) -> Pending | None:
        """Verify the digest against the credential, then update the bindings and answer."""
        try:
            account = self._authenticate(tx, creds, credential)
            if account is not None:
                tx.reply(200, headers=self._update_bindings(tx, account))
        except _Reject as reject:
            if reject.delay > 0:
                return self._reply_later(tx, reject)
            tx.reply(reject.status, reject.reason, headers=reject.headers)
        except SipParseError as exc:
            tx.reply(400, f"Bad Request ({exc})"[:100])
        except Exception:
            self._internal_error(tx)
        return None

    @staticmethod
    def _internal_error(tx: ServerTransaction) -> None:
        """Credential source or binding store failed (called in an except block): retry later."""
        log.exception("REGISTER from %s failed", tx.flow.remote_addr)
        tx.reply(500, headers=[("Retry-After", "30")])

    @staticmethod
    async def _reply_later(tx: ServerTransaction, reject: _Reject) -> None:
        await asyncio.sleep(reject.delay)  # tarpit: one guess per delay at most
        tx.reply(reject.status, reject.reason, headers=reject.headers)

    def _authenticate(
        self, tx: ServerTransaction, creds: DigestCredentials, credential: Credential | None
    ) -> str | None:
        """The account name, or None when answered (stale challenge, silent ban); raises _Reject."""
        request = tx.request
        password = credential.password if credential is not None and credential.enabled else None
        verdict = self.digest.verify(creds, password, request.method)
        if verdict is Verdict.STALE:
            tx.reply(401, headers=self._stale_challenge(creds))
            return None
        source = tx.flow.remote_addr[0]
        if verdict is not Verdict.OK:
            # unknown user, disabled account and wrong password all look exactly alike
            delay = self.failures.refusal_delay(source)
            if delay is None:
                tx.terminate()
                return None
            raise _Reject(403, delay=delay)
        if creds.username != request.to.uri.user:
            raise _Reject(403, "Forbidden (To does not match the authenticated user)")
        self.algorithm_policy.remember(creds.username, creds.algorithm)
        return creds.username

    def our_credentials(self, values: list[str]) -> DigestCredentials | None:
        """The first of these Authorization / Proxy-Authorization values for our realm, or None."""
        return self._our_credentials(values)

    def _our_credentials(self, values: list[str]) -> DigestCredentials | None:
        for value in values:
            try:
                creds = DigestCredentials.parse(value)
            except SipParseError:
                continue
            if creds.realm == self.config.realm:
                return creds
        return None

    # -- bindings ----------------------------------------------------------------------
    def _expires_for(self, contact: NameAddr, header_expires: int | None) -> int:
        raw = contact.params.get("expires")
        if raw is not None:
            text = raw.strip('"')
            if not (text.isascii() and text.isdigit()) or len(text) > 10:
                raise _Reject(400, "Bad Request (bad expires parameter)")
            value = int(text)
        elif header_expires is not None:
            value = header_expires
        else:
            value = self.config.default_expires
        if 0 < value < self.config.min_expires:
            raise _Reject(423, headers=[("Min-Expires", str(self.config.min_expires))])
        return min(value, self.config.max_expires)

    def _update_bindings(self, tx: ServerTransaction, account: str) -> list[tuple[str, str]]:
        request = tx.request
        now = self.now()
        call_id, cseq = request.call_id, request.cseq.number
        header_expires = request.expires
        store = self.bindings
        current: dict[str, Binding] = {}
        for stored in store.list_bindings(account):
            if stored.expires_at > now:
                current[stored.contact] = stored
            else:
                store.remove_binding(account, stored.contact)  # purge as we pass by
        if request.is_wildcard_contact:
            if header_expires != 0:
                raise _Reject(400, "Bad Request (Contact: * needs Expires: 0)")
            self._check_order(current.values(), call_id, cseq)
            store.remove_all_bindings(account)
            current = {}
        else:
            # validate everything before changing anything
            planned = [
                (str(c.uri), _q_value(c), self._expires_for(c, header_expires)) for c in request.contacts
            ]
            self._check_order([current[key] for key, _, _ in planned if key in current], call_id, cseq)
            flow = tx.flow
            (source_host, source_port), (local_host, local_port) = flow.remote_addr, flow.local_addr
            user_agent = request.header("User-Agent")
            for key, q, expires in planned:
                if expires == 0:
                    if key in current:
                        store.remove_binding(account, key)
                        del current[key]
                    continue
                binding = Binding(
                    account, key, now + timedelta(seconds=expires), call_id, cseq, q, flow.transport,
                    source_host, source_port, local_host, local_port, flow.connection_id, user_agent,
                )  # fmt: skip
                store.save_binding(binding)
                if self.on_binding is not None:
                    self.on_binding(binding)
                current[key] = binding
        headers = [("Contact", f"<{b.contact}>;expires={b.remaining_seconds(now)}") for b in current.values()]
        headers.append(("Date", _http_date(int(now.timestamp()))))
        return headers

    @staticmethod
    def _check_order(existing: Iterable[Binding], call_id: str, cseq: int) -> None:
        # RFC 3261 §10.3 step 7: same Call-ID must come with a higher CSeq
        for binding in existing:
            if binding.call_id == call_id and cseq <= binding.cseq:
                raise _Reject(500, "Server Internal Error (out of order REGISTER)")

    async def bindings_for(self, account: str) -> list[Binding]:
        """Current (unexpired) bindings of an account, e.g. to call its phones."""
        now = self.now()
        return [b for b in self.bindings.list_bindings(account) if b.expires_at > now]

    async def purge_expired(self) -> int:
        return await self.bindings.purge_expired(self.now())


def _q_value(contact: NameAddr) -> float | None:
    raw = contact.params.get("q")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _Reject(400, "Bad Request (bad q parameter)") from None
    if not 0.0 <= value <= 1.0:
        raise _Reject(400, "Bad Request (bad q parameter)")
    return value


@functools.lru_cache(maxsize=4)
def _http_date(epoch_second: int) -> str:
    """The Date header (RFC 3261 20.17), formatted once per second rather than once per answer."""
    return format_datetime(datetime.fromtimestamp(epoch_second, UTC), usegmt=True)
