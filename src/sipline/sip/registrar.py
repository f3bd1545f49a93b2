"""RFC 3261 §10 registrar with digest authentication and brute-force protection.

Order of work per REGISTER is chosen so that unauthenticated traffic stays cheap: ban check,
then challenge (no lookup), then nonce HMAC check (no lookup), and only then one credential
lookup; bindings are read or written only after the digest verified.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from sipline.sip.ban import AuthFailureTracker, BanPolicy
from sipline.sip.bindings import Binding, BindingStore
from sipline.sip.credentials import CredentialSource
from sipline.sip.digest import DigestCredentials, DigestServer, Verdict
from sipline.sip.errors import SipParseError
from sipline.sip.headers import NameAddr
from sipline.sip.transaction import ServerTransaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistrarConfig:
    realm: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    nonce_lifetime: float = 300.0
    nonce_secret: bytes | None = None  # share it between nodes; random per process if None
    algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    # User-Agent prefixes (case-insensitive) that fail on ANY non-MD5 challenge instead of
    # skipping it (measured: baresip 1.0.0 "Function not implemented", SIPp 3.6 aborts): MD5 only
    md5_only_user_agents: tuple[str, ...] = ("baresip", "sipp")
    ban: BanPolicy = field(default_factory=BanPolicy)


class _Reject(Exception):
    def __init__(self, status: int, reason: str | None = None, headers: list[tuple[str, str]] | None = None):
        super().__init__(status)
        self.status = status
        self.reason = reason
        self.headers = headers or []


class Registrar:
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
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def _account_lock(self, account: str) -> AsyncIterator[None]:
        """Serialize REGISTERs of one account (read-modify-write of its bindings)."""
        lock, users = self._locks.get(account, (asyncio.Lock(), 0))
        self._locks[account] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[account]
            if users <= 1:
                del self._locks[account]
            else:
                self._locks[account] = (lock, users - 1)

    def screen(self, tx: ServerTransaction) -> DigestCredentials | None:
        """The synchronous, lookup-free part of a REGISTER.

        Answers it (401 challenge, 400) and returns None, or returns the credentials that are
        worth a lookup; then ``handle_register(tx, creds)`` finishes. Lets the server skip a
        task for the first (unauthenticated) REGISTER of every registration.
        """
        try:
            to_uri = tx.request.to.uri
            if not to_uri.is_sip or not to_uri.user:
                raise _Reject(400, "Bad Request (To must be a SIP AOR with a user)")
            creds = self._our_credentials(tx.request.headers("Authorization"))
            if creds is None or self.digest.precheck(creds) is not Verdict.OK:
                self._challenge(tx)  # first REGISTER, unknown scheme, other realm, forged nonce
                return None
            return creds
        except _Reject as reject:
            tx.reply(reject.status, reject.reason, headers=reject.headers)
        except SipParseError as exc:
            tx.reply(400, f"Bad Request ({exc})"[:100])
        return None

    async def handle_register(self, tx: ServerTransaction, creds: DigestCredentials | None = None) -> None:
        """Answer one REGISTER server transaction (never raises for peer errors)."""
        if creds is None:
            creds = self.screen(tx)
            if creds is None:
                return
        try:
            account = await self._authenticate(tx, creds)
            if account is None:
                return
            async with self._account_lock(account):
                headers = await self._update_bindings(tx, account)
            tx.reply(200, headers=headers)
        except _Reject as reject:
            tx.reply(reject.status, reject.reason, headers=reject.headers)
        except SipParseError as exc:
            tx.reply(400, f"Bad Request ({exc})"[:100])
        except Exception:
            # credential source or binding store failed: tell the phone to retry later
            log.exception("REGISTER from %s failed", tx.flow.remote_addr)
            tx.reply(500, headers=[("Retry-After", "30")])

    # -- authentication ----------------------------------------------------------------
    def _challenge(self, tx: ServerTransaction, *, stale: bool = False) -> None:
        user_agent = (tx.request.header("User-Agent") or "").lower()
        algorithms = None
        if "MD5" in self.config.algorithms and user_agent.startswith(
            tuple(p.lower() for p in self.config.md5_only_user_agents)
        ):
            algorithms = ("MD5",)
        challenges = self.digest.challenges(stale=stale, algorithms=algorithms)
        tx.reply(401, headers=[("WWW-Authenticate", value) for value in challenges])

    async def _authenticate(self, tx: ServerTransaction, creds: DigestCredentials) -> str | None:
        """Lookup and verify (after ``screen``): the account name, or None when answered."""
        request = tx.request
        credential = await self.credentials.lookup(creds.username)
        password = credential.password if credential is not None and credential.enabled else None
        verdict = self.digest.verify(creds, password, request.method)
        if verdict is Verdict.STALE:
            self._challenge(tx, stale=True)
            return None
        source = tx.flow.remote_addr[0]
        if verdict is not Verdict.OK:
            # unknown user, disabled account and wrong password all look exactly alike
            policy = self.failures.policy
            if self.failures.record_failure(source):
                log.warning("banning %s after repeated SIP auth failures", source)
                if not policy.answer_banned:
                    tx.terminate()
                    return None
            elif self.failures.recent_failures(source) > policy.slow_after and policy.slow_delay > 0:
                await asyncio.sleep(policy.slow_delay)  # tarpit: one guess per delay at most
            raise _Reject(403)
        if creds.username != request.to.uri.user:
            raise _Reject(403, "Forbidden (To does not match the authenticated user)")
        return creds.username

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

    async def _update_bindings(self, tx: ServerTransaction, account: str) -> list[tuple[str, str]]:
        request = tx.request
        now = self.now()
        call_id, cseq = request.call_id, request.cseq.number
        header_expires = request.expires
        stored = await self.bindings.list_bindings(account)
        for expired in (b for b in stored if b.expires_at <= now):
            await self.bindings.remove_binding(account, expired.contact)  # purge as we pass by
        current = {b.contact: b for b in stored if b.expires_at > now}
        if request.is_wildcard_contact:
            if header_expires != 0:
                raise _Reject(400, "Bad Request (Contact: * needs Expires: 0)")
            self._check_order(current.values(), call_id, cseq)
            await self.bindings.remove_all_bindings(account)
            current = {}
        else:
            contacts = request.contacts
            # validate everything before changing anything
            planned = [(str(c.uri), _q_value(c), self._expires_for(c, header_expires)) for c in contacts]
            self._check_order([current[key] for key, _, _ in planned if key in current], call_id, cseq)
            flow = tx.flow
            for key, q, expires in planned:
                if expires == 0:
                    if key in current:
                        await self.bindings.remove_binding(account, key)
                        del current[key]
                    continue
                binding = Binding(
                    account=account,
                    contact=key,
                    expires_at=now + timedelta(seconds=expires),
                    call_id=call_id,
                    cseq=cseq,
                    q=q,
                    transport=flow.transport,
                    source_host=flow.remote_addr[0],
                    source_port=flow.remote_addr[1],
                    local_host=flow.local_addr[0],
                    local_port=flow.local_addr[1],
                    connection_id=flow.connection_id,
                    user_agent=request.header("User-Agent"),
                )
                await self.bindings.save_binding(binding)
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
        return [b for b in await self.bindings.list_bindings(account) if b.expires_at > now]

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
