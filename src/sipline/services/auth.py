"""Authentication of voice API calls: Api-Key, Timestamp and Sign headers (GUIDE section 1)."""

import secrets
import time
from dataclasses import dataclass

from sipline.domain import signing, validation
from sipline.domain.errors import ApiError
from sipline.domain.status import Status
from sipline.services.directory import Directory

# A fixed secret to sign against for unknown keys, so that unknown and known keys take the same time.
_DECOY_SECRET = secrets.token_hex(8)


@dataclass(frozen=True)
class Caller:
    """The authenticated customer behind a request."""

    account_id: int
    api_key: str


@dataclass(frozen=True)
class SignedHeaders:
    api_key: str | None
    timestamp: str | None
    sign: str | None
    client_ip: str | None


class AuthService:
    def __init__(self, directory: Directory, timestamp_window: int) -> None:
        self._directory = directory
        self._window = timestamp_window

    async def authenticate(self, headers: SignedHeaders) -> Caller:
        if not headers.api_key or not headers.timestamp or not headers.sign:
            missing = [
                name
                for name, value in (
                    ("Api-Key", headers.api_key),
                    ("Timestamp", headers.timestamp),
                    ("Sign", headers.sign),
                )
                if not value
            ]
            raise ApiError(Status.AUTH_FAILED, f"missing header: {', '.join(missing)}")
        record = await self._directory.auth_record(headers.api_key)
        secret = record.api_secret if record is not None else _DECOY_SECRET
        expected = signing.compute_sign(headers.api_key, secret, headers.timestamp)
        if not signing.sign_matches(expected, headers.sign) or record is None:
            raise ApiError(Status.AUTH_FAILED, "authentication failed: unknown Api-Key or wrong Sign")
        if not signing.timestamp_within_window(headers.timestamp, time.time(), self._window):
            raise ApiError(
                Status.TIMESTAMP_EXPIRED,
                f"Timestamp is not within {self._window} seconds of the server's clock",
            )
        if not validation.ip_allowed(headers.client_ip, list(record.ip_allowlist)):
            raise ApiError(Status.IP_NOT_ALLOWED, f"requests from {headers.client_ip} are not allowed")
        if record.locked:
            raise ApiError(Status.USER_LOCKED, "the account is locked")
        return Caller(account_id=record.account_id, api_key=headers.api_key)
