"""An in-memory read model of accounts, apps and phones: the hot read paths never wait on the database.

Every API call authenticates, sipQuery pages through an app's phones, and every SIP REGISTER looks
up a password; served from the database each would cost a round trip (and on SQLite a thread hop),
which the platform's throughput targets cannot afford. So reads come from here, and:

- writes go to the database in their own transactions, then invalidate what they touched, so a node
  always reads its own writes;
- every write transaction also bumps `directory_version`; a watcher polls it (default every 0.5 s) and
  drops everything when another process (the admin CLI, another node) changed something;
- a load that raced an invalidation is not stored (generation check), so nothing stale sticks.
"""

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.phones import UNREGISTERED
from sipline.services.polling import poll_forever
from sipline.store.models import Account, App, DirectoryVersion, Phone, PhoneGroup
from sipline.store.secretbox import SecretBox

log = logging.getLogger("sipline.directory")


@dataclass(frozen=True)
class AuthRecord:
    account_id: int
    api_secret: str
    locked: bool
    ip_allowlist: tuple[str, ...]


@dataclass(frozen=True)
class AppPhones:
    """An app's phones in display order, as the API shows them."""

    account_id: int
    app_pk: int
    records: tuple[dict[str, Any], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_account", {record["account"]: record for record in self.records})

    def phone(self, account: str) -> dict[str, Any] | None:
        """The record of the app's phone with this SIP account (sendSip's lookup), or None."""
        found: dict[str, Any] | None = self._by_account.get(account)  # type: ignore[attr-defined]
        return found


@dataclass(frozen=True)
class SipCredential:
    """What the registrar needs to check a phone's digest: its password and whether it may register."""

    account: str
    password: str
    enabled: bool
    app_id: str


# A phone's SIP credential with what decides whether it may register (its account's lock).
_CREDENTIALS = (
    select(Phone.account, Phone.password_enc, Account.locked, App.app_id)
    .join(App, Phone.app_pk == App.id)
    .join(Account, App.account_id == Account.id)
)


class Directory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secrets: SecretBox,
        *,
        max_apps: int = 10_000,
        max_credentials: int = 1_000_000,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._generation = 0
        self._auth: dict[str, AuthRecord | None] = {}
        self._apps: OrderedDict[str, AppPhones] = OrderedDict()
        self._credentials: OrderedDict[str, SipCredential] = OrderedDict()
        # appId -> its phones' accounts in _credentials, so that a change to one app drops only those.
        self._accounts_by_app: dict[str, set[str]] = {}
        self._max_apps = max_apps
        self._max_credentials = max_credentials
        self._seen_version: int | None = None
        self._own_versions: set[int] = set()

    # --- reads -------------------------------------------------------------------------------------

    async def auth_record(self, api_key: str) -> AuthRecord | None:
        if api_key in self._auth:
            return self._auth[api_key]
        generation = self._generation
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Account.id, Account.api_secret_enc, Account.locked, Account.ip_allowlist).where(
                        Account.api_key == api_key
                    )
                )
            ).first()
        record = (
            None
            if row is None
            else AuthRecord(
                row.id, self._secrets.decrypt(row.api_secret_enc), row.locked, tuple(row.ip_allowlist.split())
            )
        )
        if generation == self._generation and (record is not None or len(self._auth) < 100_000):
            self._auth[api_key] = record
        return record

    async def app_phones(self, app_id: str) -> AppPhones | None:
        cached = self._apps.get(app_id)
        if cached is not None:
            self._apps.move_to_end(app_id)
            return cached
        generation = self._generation
        async with self._sessions() as session:
            app = (await session.execute(select(App.id, App.account_id).where(App.app_id == app_id))).first()
            if app is None:
                return None
            rows = (
                await session.execute(
                    select(PhoneGroup.name, Phone.name, Phone.account, Phone.password_enc, Phone.display_num)
                    .join(PhoneGroup, Phone.group_id == PhoneGroup.id)
                    .where(Phone.app_pk == app.id)
                    .order_by(Phone.group_id, Phone.position)
                )
            ).all()
        loaded = AppPhones(
            account_id=app.account_id,
            app_pk=app.id,
            records=tuple(
                {
                    "groupName": group,
                    "phoneName": name,
                    "account": account,
                    "password": self._secrets.decrypt(password_enc),
                    "displayNum": display_num,
                    **UNREGISTERED,  # sipQuery overlays the live registration state, if any
                }
                for group, name, account, password_enc, display_num in rows
            ),
        )
        if generation == self._generation:
            self._apps[app_id] = loaded
            while len(self._apps) > self._max_apps:
                self._apps.popitem(last=False)
        return loaded

    def cached_sip_credential(self, account: str) -> SipCredential | None:
        """The phone's credential if the directory holds it (None: not cached, maybe unknown)."""
        return self._credentials.get(account)

    async def sip_credential(self, account: str) -> SipCredential | None:
        cached = self._credentials.get(account)
        if cached is not None:
            return cached
        found = await self._load_credentials(_CREDENTIALS.where(Phone.account == account))
        return found[0] if found else None

    async def preload_sip_credentials(self) -> int:
        """Load every phone's SIP credential (at start: after a restart all phones re-register at
        once, and a database round trip per REGISTER would slow that storm into retransmissions)."""
        return len(await self._load_credentials(_CREDENTIALS.limit(self._max_credentials)))

    async def _load_credentials(self, statement: "Select[str, str, bool, str]") -> list[SipCredential]:
        generation = self._generation
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        loaded = [
            SipCredential(row.account, self._secrets.decrypt(row.password_enc), not row.locked, row.app_id)
            for row in rows
        ]
        if generation == self._generation:  # not stored if an invalidation raced the load
            for credential in loaded:
                self._remember(credential)
        return loaded

    def _remember(self, credential: SipCredential) -> None:
        self._credentials[credential.account] = credential
        self._accounts_by_app.setdefault(credential.app_id, set()).add(credential.account)
        while len(self._credentials) > self._max_credentials:
            _account, evicted = self._credentials.popitem(last=False)
            self._accounts_by_app.get(evicted.app_id, set()).discard(evicted.account)

    # --- invalidation ------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Bumped by every invalidation: caches kept elsewhere (billing/limits.py) compare it."""
        return self._generation

    def invalidate_all(self) -> None:
        self._generation += 1
        self._auth.clear()
        self._apps.clear()
        self._credentials.clear()
        self._accounts_by_app.clear()

    def own_change(self, version: int) -> None:
        """This process committed `version` (and invalidated what it changed): the watcher skips it."""
        self._own_versions.add(version)

    def invalidate_app(self, app_id: str) -> None:
        self._generation += 1
        self._apps.pop(app_id, None)
        for account in self._accounts_by_app.pop(app_id, set()):
            self._credentials.pop(account, None)

    async def refresh_if_changed(self) -> bool:
        """Drop everything if any process committed a change since the last look; True if it did."""
        async with self._sessions() as session:
            version = await session.scalar(select(DirectoryVersion.version).where(DirectoryVersion.id == 1))
        seen, self._seen_version = self._seen_version, version
        if seen is None or version is None or version == seen:
            return False
        # Versions this process wrote itself were invalidated precisely when they were written.
        others = [v for v in range(seen + 1, version + 1) if v not in self._own_versions]
        self._own_versions = {v for v in self._own_versions if v > version}
        changed = bool(others) or version < seen
        if changed:
            self.invalidate_all()
        return changed

    async def watch(self, interval: float) -> None:
        """Run until cancelled: look for changes made by other processes every `interval` seconds."""
        await poll_forever(self.refresh_if_changed, interval, log, "directory version")


async def bump_version(session: AsyncSession) -> int:
    """Part of every write transaction to accounts, apps or phones: tells other processes to reload.

    Returns the new version, for `Directory.own_change` once the transaction has committed."""
    version = await session.scalar(
        update(DirectoryVersion)
        .where(DirectoryVersion.id == 1)
        .values(version=DirectoryVersion.version + 1)
        .returning(DirectoryVersion.version)
    )
    if version is None:
        raise RuntimeError("directory_version has no row: the database was not migrated by sipline")
    return int(version)
