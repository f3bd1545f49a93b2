"""Fraud limits in the database: read for ``CallAdmission``, set by the operator (CLI, admin API).

A change bumps ``directory_version`` in its transaction, so every process's admission cache (keyed
by the directory's generation) drops the account's old limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.billing.limits import AccountLimits, utc_midnight
from sipline.billing.postings import Kind
from sipline.billing.rating import money_text
from sipline.services.directory import Directory, bump_version
from sipline.services.tenancy import account_id_of
from sipline.services.unit_of_work import UnitOfWork
from sipline.store.models import AccountLimit, CallRecord, LedgerEntry


class LimitStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory) -> None:
        self._sessions = sessions
        self._directory = directory

    # -- for CallAdmission -------------------------------------------------------------------
    async def load(self, account_id: int) -> AccountLimits:
        async with self._sessions() as session:
            row = await session.get(AccountLimit, account_id)
        return AccountLimits() if row is None else _limits_of(row)

    async def daily_spend(self, account_id: int, since: datetime) -> Decimal:
        """What the account spent since ``since`` (a UTC midnight): its call debits, plus what its
        calls in progress hold reserved (money already taken, likely to be spent)."""
        async with self._sessions() as session:
            debits = await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.account_id == account_id,
                    LedgerEntry.kind == Kind.CALL.value,
                    LedgerEntry.created_at >= since,
                )
            )
            reserved = await session.scalar(
                select(func.coalesce(func.sum(CallRecord.reserved), 0)).where(
                    CallRecord.account_id == account_id, CallRecord.hangup_time.is_(None)
                )
            )
        return (reserved or Decimal(0)) - (debits or Decimal(0))  # call debits are negative amounts

    # -- for the operator --------------------------------------------------------------------
    async def get(self, api_key: str) -> AccountLimits:
        async with self._sessions() as session:
            account_id = await account_id_of(session, api_key)
        return await self.load(account_id)

    async def standing(self, api_key: str, now: datetime) -> LimitStanding:
        """The account's limits and its spend so far in ``now``'s UTC day."""
        async with self._sessions() as session:
            account_id = await account_id_of(session, api_key)
        spent = await self.daily_spend(account_id, utc_midnight(now))
        return LimitStanding(account_id, await self.load(account_id), spent)

    async def set(self, api_key: str, limits: AccountLimits) -> AccountLimits:
        """Replace the account's limits (all of them: what is not given is no limit)."""
        async with UnitOfWork(self._sessions) as uow:
            session = uow.session
            account_id = await account_id_of(session, api_key)
            row = await session.get(AccountLimit, account_id)
            if row is None:
                row = AccountLimit(account_id=account_id)
                session.add(row)
            row.max_concurrent = limits.max_concurrent
            row.max_cps = limits.max_cps
            row.daily_cap = limits.daily_cap
            row.deny_prefixes = " ".join(limits.deny)
            row.allow_prefixes = " ".join(limits.allow_only)
            row.updated_at = datetime.now(UTC)
            version = await bump_version(session)
            await uow.commit()
        self._directory.invalidate_all()
        self._directory.own_change(version)
        return limits


def _limits_of(row: AccountLimit) -> AccountLimits:
    return AccountLimits(
        max_concurrent=row.max_concurrent,
        max_cps=row.max_cps,
        daily_cap=row.daily_cap,
        deny=tuple(row.deny_prefixes.split()),
        allow_only=tuple(row.allow_prefixes.split()),
    )


@dataclass(frozen=True)
class LimitStanding:
    """Where an account stands against its limits (the operator's console)."""

    account_id: int  # for the node's live count (CallAdmission.live_calls)
    limits: AccountLimits
    spent_today: Decimal  # since the UTC midnight: call debits and what calls in progress reserved


@dataclass(frozen=True)
class LimitsView:
    """The operator's view of an account's limits (the admin API and the CLI's JSON)."""

    api_key: str
    limits: AccountLimits

    def as_json(self) -> dict[str, Any]:
        limits = self.limits
        return {
            "apiKey": self.api_key,
            "maxConcurrent": limits.max_concurrent,
            "maxCps": limits.max_cps,
            "dailyCap": None if limits.daily_cap is None else money_text(limits.daily_cap),
            "deny": list(limits.deny),
            "allowOnly": list(limits.allow_only),
        }
