"""Operator use cases: customer accounts, their apps, locking, allow-lists and top-ups."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from sipline.billing.postings import Kind
from sipline.domain import ids, validation
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.status import Status
from sipline.services.directory import Directory, bump_version
from sipline.services.unit_of_work import UnitOfWork
from sipline.store.models import Account, App, LedgerEntry
from sipline.store.secretbox import SecretBox

USD = "USD"


@dataclass(frozen=True)
class NewAccount:
    api_key: str
    api_secret: str

    def as_json(self) -> dict[str, Any]:
        return {"apiKey": self.api_key, "apiSecret": self.api_secret}


@dataclass(frozen=True)
class AccountView:
    api_key: str
    name: str
    locked: bool
    ip_allowlist: list[str]
    balance: Decimal
    currency: str
    quote_exchange: Decimal | None
    created_at: datetime
    apps: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "apiKey": self.api_key,
            "name": self.name,
            "locked": self.locked,
            "ipAllowlist": self.ip_allowlist,
            "balance": str(self.balance),
            "currency": self.currency,
            "quoteExchange": None if self.quote_exchange is None else str(self.quote_exchange.normalize()),
            "createdAt": self.created_at.isoformat(),
            "apps": self.apps,
        }


@dataclass(frozen=True)
class AppView:
    app_id: str
    api_key: str
    name: str
    phone_limit: int
    phone_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "appId": self.app_id,
            "apiKey": self.api_key,
            "name": self.name,
            "phoneLimit": self.phone_limit,
            "phoneCount": self.phone_count,
        }


class TenancyService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secrets: SecretBox,
        directory: Directory,
        default_phone_limit: int,
    ) -> None:
        self._directory = directory
        self._sessions = sessions
        self._secrets = secrets
        self._default_phone_limit = default_phone_limit

    @asynccontextmanager
    async def _changing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed with a directory version bump, then caches dropped."""
        async with UnitOfWork(self._sessions) as uow:
            yield uow.session
            version = await bump_version(uow.session)
            await uow.commit()
        self._directory.invalidate_all()
        self._directory.own_change(version)

    async def create_account(
        self,
        *,
        name: str = "",
        balance: Decimal = Decimal(0),
        currency: str = USD,
        quote_exchange: Decimal | None = None,
        ip_allowlist: list[str] | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
    ) -> NewAccount:
        """Create an account; `api_key`/`api_secret` carry over credentials a customer already uses."""
        currency, quote_exchange = quote_terms(currency, quote_exchange)
        balance = validation.check(validation.money, balance, "balance")
        allow = validation.check(validation.ip_networks, ip_allowlist or [], "ipAllowlist")
        if api_key is not None:
            api_key = validation.check(validation.credential, api_key, "apiKey")
        if api_secret is not None:
            api_secret = validation.check(validation.credential, api_secret, "apiSecret")
        async with self._changing() as session:
            if api_key is None:
                api_key = await _unused(session, Account.api_key, ids.new_api_key)
            elif await session.scalar(select(Account.id).where(Account.api_key == api_key)) is not None:
                raise ApiError(Status.ALREADY_EXISTS, f"apiKey {api_key!r} already exists")
            api_secret = api_secret or ids.new_api_secret()
            account = Account(
                api_key=api_key,
                api_secret_enc=self._secrets.encrypt(api_secret),
                name=name,
                locked=False,
                ip_allowlist=" ".join(allow),
                balance=balance,
                currency=currency,
                quote_exchange=quote_exchange,
            )
            session.add(account)
            await session.flush()
            if balance:
                session.add(
                    LedgerEntry(
                        account_id=account.id,
                        kind=Kind.TOPUP.value,
                        amount=balance,
                        balance_after=balance,
                        reference="opening",
                    )
                )
        return NewAccount(api_key=api_key, api_secret=api_secret)

    async def create_app(
        self, api_key: str, *, name: str = "", phone_limit: int | None = None, app_id: str | None = None
    ) -> AppView:
        limit = self._default_phone_limit if phone_limit is None else phone_limit
        limit = validation.check(validation.phone_limit, limit, "phoneLimit")
        async with self._changing() as session:
            account = await _account(session, api_key)
            if app_id is None:
                app_id = await _unused(session, App.app_id, ids.new_app_id)
            else:
                app_id = validation.check(validation.credential, app_id, "appId")
                if await session.scalar(select(App.id).where(App.app_id == app_id)) is not None:
                    raise ApiError(Status.ALREADY_EXISTS, f"appId {app_id!r} already exists")
            app = App(app_id=app_id, account_id=account.id, name=name, phone_limit=limit, phone_count=0)
            session.add(app)
        return AppView(app_id=app_id, api_key=api_key, name=name, phone_limit=limit, phone_count=0)

    async def set_locked(self, api_key: str, locked: bool) -> AccountView:
        async with self._changing() as session:
            account = await _account(session, api_key)
            account.locked = locked
        return await self.get_account(api_key)

    async def set_ip_allowlist(self, api_key: str, entries: list[str]) -> AccountView:
        allow = validation.check(validation.ip_networks, entries, "ipAllowlist")
        async with self._changing() as session:
            account = await _account(session, api_key)
            account.ip_allowlist = " ".join(allow)
        return await self.get_account(api_key)

    async def set_quote(
        self, api_key: str, currency: str, quote_exchange: Decimal | str | None
    ) -> AccountView:
        """Change the currency the account is quoted in and its exchange (units per USD). Calls settle
        with the terms the account has when they end; records already written keep theirs."""
        currency, quote_exchange = quote_terms(currency, quote_exchange)
        async with self._changing() as session:
            account = await _account(session, api_key)
            account.currency = currency
            account.quote_exchange = quote_exchange
        return await self.get_account(api_key)

    async def top_up(self, api_key: str, amount: Decimal, reference: str = "") -> AccountView:
        amount = validation.check(lambda v: validation.money(v, positive=True), amount, "amount")
        async with self._changing() as session:
            account = await _account(session, api_key)
            # Atomic in SQL, so that a top-up racing a call's debit loses neither.
            new_balance = await session.scalar(
                update(Account)
                .where(Account.id == account.id, Account.balance <= validation.MONEY_MAX - amount)
                .values(balance=Account.balance + amount)
                .returning(Account.balance)
            )
            if new_balance is None:
                raise parameter_error(f"amount would take the balance over {validation.MONEY_MAX}")
            session.add(
                LedgerEntry(
                    account_id=account.id,
                    kind=Kind.TOPUP.value,
                    amount=amount,
                    balance_after=new_balance,
                    reference=reference,
                )
            )
        return await self.get_account(api_key)

    async def rotate_secret(self, api_key: str) -> str:
        """A new apiSecret for the account; the old one stops signing at once (directory invalidated)."""
        secret = ids.new_api_secret()
        async with self._changing() as session:
            account = await _account(session, api_key)
            account.api_secret_enc = self._secrets.encrypt(secret)
        return secret

    async def get_account(self, api_key: str) -> AccountView:
        async with self._sessions() as session:
            account = await _account(session, api_key)
            apps = (
                await session.scalars(select(App.app_id).where(App.account_id == account.id).order_by(App.id))
            ).all()
            return AccountView(
                api_key=account.api_key,
                name=account.name,
                locked=account.locked,
                ip_allowlist=account.allowlist,
                balance=account.balance,
                currency=account.currency,
                quote_exchange=account.quote_exchange,
                created_at=account.created_at,
                apps=list(apps),
            )

    async def list_accounts(self) -> list[AccountView]:
        async with self._sessions() as session:
            keys = (await session.scalars(select(Account.api_key).order_by(Account.id))).all()
        return [await self.get_account(key) for key in keys]

    async def list_apps(self, api_key: str | None = None) -> list[AppView]:
        """Every app, oldest first; with `api_key`, only that account's."""
        async with self._sessions() as session:
            statement = select(App, Account.api_key).join(Account, App.account_id == Account.id)
            if api_key is not None:
                await _account(session, api_key)
                statement = statement.where(Account.api_key == api_key)
            rows = (await session.execute(statement.order_by(App.id))).all()
        return [
            AppView(
                app_id=app.app_id,
                api_key=key,
                name=app.name,
                phone_limit=app.phone_limit,
                phone_count=app.phone_count,
            )
            for app, key in rows
        ]


def quote_terms(currency: str, quote_exchange: Decimal | str | None) -> tuple[str, Decimal | None]:
    """An account's quote currency and exchange, checked: USD has none, any other currency needs one
    (positive, at most 4 decimals; one given with USD is checked, then dropped)."""
    code = validation.check(validation.currency, currency, "currency")
    if quote_exchange is None:
        if code != USD:
            raise parameter_error(f"quoteExchange is required for currency {code}")
        return code, None
    exchange = validation.check(lambda v: validation.money(v, positive=True), quote_exchange, "quoteExchange")
    return code, None if code == USD else exchange


async def _account(session: AsyncSession, api_key: str) -> Account:
    account = await session.scalar(select(Account).where(Account.api_key == api_key))
    if account is None:
        raise ApiError(Status.PARAMETER_ERROR, f"apiKey {api_key!r} does not exist")
    return account


async def account_id_of(session: AsyncSession, api_key: str) -> int:
    """The account's row id (-22 when no account has this apiKey)."""
    return (await _account(session, api_key)).id


async def _unused(
    session: AsyncSession, column: InstrumentedAttribute[str], generate: Callable[[], str]
) -> str:
    """A freshly generated handle that no row has yet."""
    while True:
        candidate = generate()
        if await session.scalar(select(column).where(column == candidate)) is None:
            return candidate


# Other services address an account by its apiKey the same way (billing/deck_store.py).
account_by_key = _account
