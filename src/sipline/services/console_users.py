"""Console users (operators, and customers bound to one account) and their sign-in sessions.

Passwords are kept as argon2id hashes (argon2-cffi). A session is a random token in an HttpOnly cookie;
the database keeps only its SHA-256, with the session's CSRF token and expiry (server-side sessions:
sign-out and user deletion end them at once).
"""

import asyncio
import functools
import hashlib
import re
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.status import Status
from sipline.services.auth import Caller
from sipline.services.unit_of_work import UnitOfWork
from sipline.store.models import Account, ConsoleSession, ConsoleUser

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")
EMAIL_MAX = 254
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # argon2 hashes anything, but a megabyte password is only a way to burn CPU
LANGUAGES = ("en", "zh_CN")  # the console's languages (its catalogs: sipline/console/locale)
TIME_ZONE_MAX = 64  # the longest IANA name is 32 characters
hasher = PasswordHasher()  # argon2id, the library's parameters (RFC 9106's second recommendation)


@functools.cache
def _decoy_hash(with_hasher: PasswordHasher) -> str:
    """Verified against when the e-mail is unknown, so that unknown and known users take the same
    time; made on first use (a hash costs tens of milliseconds: not at every import)."""
    return with_hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class ConsoleUserView:
    email: str
    operator: bool
    account_id: int | None  # a customer's account; None for an operator
    api_key: str | None
    created_at: datetime
    language: str | None = None  # one of LANGUAGES; None: the browser's choice
    time_zone: str | None = None  # an IANA name; None: UTC


@dataclass(frozen=True)
class SignedIn:
    """The user behind a console request, with the session's CSRF token."""

    user: ConsoleUserView
    csrf_token: str
    expires_at: datetime

    @property
    def caller(self) -> Caller | None:
        """The customer as the services know callers; None for an operator."""
        if self.user.account_id is None or self.user.api_key is None:
            return None
        return Caller(account_id=self.user.account_id, api_key=self.user.api_key)


def check_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > EMAIL_MAX or not EMAIL.fullmatch(email):
        raise parameter_error("email must be an e-mail address (at most 254 characters)")
    return email


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise parameter_error(f"password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise parameter_error(f"language must be one of {', '.join(LANGUAGES)}")
    return language


@functools.cache
def time_zones() -> frozenset[str]:
    """Every IANA zone name known (the system's zoneinfo, else the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str) -> str:
    """An IANA time zone name the system (or the tzdata package) knows, such as Asia/Shanghai."""
    name = name.strip()
    if len(name) > TIME_ZONE_MAX or name not in time_zones():
        raise parameter_error("time zone must be an IANA name such as Europe/Paris or Asia/Shanghai")
    return name


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleUsers:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], session_ttl: int) -> None:
        self._sessions = sessions
        self._ttl = timedelta(seconds=session_ttl)

    async def create(
        self, email: str, password: str, *, api_key: str | None = None, operator: bool = False
    ) -> ConsoleUserView:
        """A customer user of the account `api_key`, or an operator (exactly one of the two)."""
        email = check_email(email)
        check_password(password)
        if operator == (api_key is not None):
            raise parameter_error("a console user is either an operator or bound to one account")
        hashed = await asyncio.to_thread(hasher.hash, password)
        async with UnitOfWork(self._sessions) as uow:
            account_id = None
            if api_key is not None:
                account_id = await uow.session.scalar(select(Account.id).where(Account.api_key == api_key))
                if account_id is None:
                    raise parameter_error(f"apiKey {api_key!r} does not exist")
            user = ConsoleUser(email=email, password_hash=hashed, account_id=account_id, operator=operator)
            uow.session.add(user)
            try:
                await uow.commit()
            except IntegrityError:
                raise ApiError(Status.ALREADY_EXISTS, f"console user {email} already exists") from None
            return ConsoleUserView(email, operator, account_id, api_key, user.created_at)

    async def list(self) -> list[ConsoleUserView]:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(ConsoleUser, Account.api_key)
                    .outerjoin(Account, ConsoleUser.account_id == Account.id)
                    .order_by(ConsoleUser.email)
                )
            ).all()
        return [_view(user, key) for user, key in rows]

    async def delete(self, email: str) -> None:
        """Remove the user; their sessions go with them (ON DELETE CASCADE, and explicitly for SQLite)."""
        email = check_email(email)
        async with UnitOfWork(self._sessions) as uow:
            user_id = await uow.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email))
            if user_id is None:
                raise parameter_error(f"console user {email} does not exist")
            await uow.session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
            await uow.session.execute(delete(ConsoleUser).where(ConsoleUser.id == user_id))
            await uow.commit()

    async def set_preferences(self, email: str, language: str, time_zone: str) -> None:
        """The user's console language and time zone (both checked before anything is written)."""
        email = check_email(email)
        language = check_language(language)
        time_zone = check_time_zone(time_zone)
        async with UnitOfWork(self._sessions) as uow:
            changed = await uow.session.execute(
                update(ConsoleUser)
                .where(ConsoleUser.email == email)
                .values(language=language, time_zone=time_zone)
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                raise parameter_error(f"console user {email} does not exist")
            await uow.commit()

    async def sign_in(self, email: str, password: str) -> tuple[str, SignedIn] | None:
        """A new session's cookie token and its user, or None for a wrong e-mail or password."""
        try:
            email = check_email(email)
        except ApiError:
            email = ""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ConsoleUser, Account.api_key)
                    .outerjoin(Account, ConsoleUser.account_id == Account.id)
                    .where(ConsoleUser.email == email)
                )
            ).first()
        hashed = row[0].password_hash if row is not None else _decoy_hash(hasher)
        # argon2 costs tens of milliseconds of CPU on purpose: off the event loop.
        good = await asyncio.to_thread(_verify, hashed, password[:PASSWORD_MAX])
        if row is None or not good:
            return None
        user, api_key = row
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        signed = SignedIn(_view(user, api_key), secrets.token_urlsafe(32), now + self._ttl)
        async with UnitOfWork(self._sessions) as uow:
            # Expired sessions are cleared here, where sessions are made, rather than by a timer.
            await uow.session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            uow.session.add(
                ConsoleSession(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    csrf_token=signed.csrf_token,
                    created_at=now,
                    expires_at=signed.expires_at,
                )
            )
            await uow.commit()
        return token, signed

    async def session(self, token: str) -> SignedIn | None:
        """The signed-in user of a cookie token, or None (unknown, expired or signed out)."""
        if not token or len(token) > 128:
            return None
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ConsoleSession, ConsoleUser, Account.api_key)
                    .join(ConsoleUser, ConsoleSession.user_id == ConsoleUser.id)
                    .outerjoin(Account, ConsoleUser.account_id == Account.id)
                    .where(ConsoleSession.token_hash == token_hash(token))
                )
            ).first()
        if row is None:
            return None
        stored, user, api_key = row
        if stored.expires_at <= datetime.now(UTC):
            return None
        return SignedIn(_view(user, api_key), stored.csrf_token, stored.expires_at)

    async def sign_out(self, token: str) -> None:
        async with UnitOfWork(self._sessions) as uow:
            await uow.session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
            )
            await uow.commit()


def _verify(hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _view(user: ConsoleUser, api_key: str | None) -> ConsoleUserView:
    return ConsoleUserView(
        user.email, user.operator, user.account_id, api_key, user.created_at, user.language, user.time_zone
    )
