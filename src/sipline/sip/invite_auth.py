"""Who dials: an INVITE from a phone is authenticated like its REGISTER (RFC 3261 §22.3, 407).

The same digest server (nonces any node can check), algorithm policy, credential source and
failure tracker as the registrar's, so a phone answers the INVITE's ``Proxy-Authenticate`` exactly
as it answered the REGISTER's ``WWW-Authenticate``, and guessing passwords by INVITE fills the same
ban list (a banned source's packets are dropped by the transport before any parsing). On top of the
digest, two toll-fraud rules:

- the From must name the account whose password answered (no calling as another phone);
- the INVITE must come from an address the account is registered from: a leaked password alone
  is not enough to dial out from elsewhere.

Nothing is looked up before the request carries a well-formed answer to one of our nonces.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sipline.sip.credentials import Cache
from sipline.sip.digest import DigestCredentials, Verdict
from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse, make_response
from sipline.sip.transaction import ServerTransaction

if TYPE_CHECKING:
    from sipline.sip.registrar import Registrar

CHALLENGE_HEADER = "Proxy-Authenticate"
ANSWER_HEADER = "Proxy-Authorization"
FROM_NOT_AUTHENTICATED = "Forbidden (From is not the authenticated phone)"
NOT_REGISTERED_HERE = "Forbidden (the phone is not registered from this address)"


class InviteAuth:
    """``await auth.caller(tx)``: the authenticated phone's account, or None once answered."""

    def __init__(self, registrar: Registrar) -> None:
        self.registrar = registrar

    def stateless_challenge(self, request: SipRequest) -> SipResponse | None:
        """The 407 for an INVITE without an answer worth a lookup, or None (the stateful path).

        Sent without a transaction, as the registrar's 401 (RFC 3261 §8.2.7): a flood of
        unauthenticated INVITEs leaves nothing behind, and their ACKs match nothing. The To tag is
        the same for a retransmission of the same INVITE.
        """
        try:
            if self._screened(request) is not None:
                return None
            key = f"{request.top_via.branch}|{request.call_id}|{request.from_.tag}".encode()
            user = request.from_.uri.user
        except SipParseError:
            return None
        to_tag = hashlib.blake2s(key, digest_size=8).hexdigest()
        headers = self.registrar.challenge(user, CHALLENGE_HEADER)
        return make_response(request, 407, to_tag=to_tag, headers=headers)

    def _screened(self, request: SipRequest) -> DigestCredentials | None:
        registrar = self.registrar
        creds = registrar.our_credentials(request.headers(ANSWER_HEADER))
        if creds is None or registrar.digest.precheck(creds) is not Verdict.OK:
            return None
        return creds

    async def caller(self, tx: ServerTransaction) -> str | None:
        registrar, request = self.registrar, tx.request
        creds = self._screened(request)
        if creds is None:
            tx.reply(407, headers=registrar.challenge(request.from_.uri.user, CHALLENGE_HEADER))
            return None
        credential = registrar.credentials.cached(creds.username)
        if credential is Cache.MISS:
            credential = await registrar.credentials.lookup(creds.username)
        password = credential.password if credential is not None and credential.enabled else None
        verdict = registrar.digest.verify(creds, password, request.method)
        if verdict is Verdict.STALE:
            tx.reply(407, headers=registrar.stale_challenge(creds, CHALLENGE_HEADER))
            return None
        source = tx.flow.remote_addr[0]
        if verdict is not Verdict.OK:
            delay = registrar.failures.refusal_delay(source)  # the REGISTER's ban list and tarpit
            if delay is None:
                tx.terminate()
                return None
            if delay > 0:
                await asyncio.sleep(delay)
            tx.reply(403)
            return None
        if creds.username != request.from_.uri.user:
            tx.reply(403, FROM_NOT_AUTHENTICATED)
            return None
        if not self._registered_from(creds.username, source):
            tx.reply(403, NOT_REGISTERED_HERE)
            return None
        registrar.algorithm_policy.remember(creds.username, creds.algorithm)
        return creds.username

    def _registered_from(self, account: str, source: str) -> bool:
        now = datetime.now(UTC)
        return any(
            binding.source_host == source and binding.expires_at > now
            for binding in self.registrar.bindings.list_bindings(account)
        )
