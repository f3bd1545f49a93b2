"""The ledger: every change of a balance is a row, with the balance it left (GUIDE section 3).

Kinds: ``topup`` (operator, services/tenancy.py), ``adjust`` (operator, with a reason, either sign),
``reserve`` (a call's first billing period at acceptance and each extension as it goes,
billing/reservations.py), ``release`` (the reservation given back at settlement) and ``call`` (the
rated cost debited); the last three are written by calls/writer.py in its batches. So an account's
ledger sums to its balance change, and its balance is what it can spend now: what calls in progress
hold is out of it already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.billing.postings import Kind
from sipline.billing.rating import money_text
from sipline.domain import validation
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.paging import Page, PageRequest
from sipline.domain.status import Status
from sipline.services.tenancy import account_id_of
from sipline.store.models import Account, CallRecord, LedgerEntry
from sipline.store.paging import fetch_page

REASON_MAX = 128  # the ledger's reference column


@dataclass(frozen=True)
class Balance:
    """An account's money: ``available`` is its balance (what calls in progress reserved is out of it
    already), ``reserved`` what those calls hold."""

    available: Decimal
    reserved: Decimal
    currency: str


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    amount: Decimal  # signed: what the row added to the balance
    balance_after: Decimal
    reference: str  # the call's voiceId, or the operator's reference or reason
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "amount": money_text(self.amount),
            "balanceAfter": money_text(self.balance_after),
            "reference": self.reference,
            "createdAt": self.created_at.astimezone(UTC).isoformat(),
        }


@dataclass(frozen=True)
class LedgerWindow:
    """Rows created at or after ``since`` and before ``until`` (either open)."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise parameter_error("endTime must not be before strTime")


def adjustment(amount: Decimal | str | int) -> Decimal:
    """An operator's correction: non-zero, either sign, at most 4 decimals, within the money range."""
    text = str(amount).strip()
    magnitude = validation.money(text.removeprefix("-"), positive=True)
    return -magnitude if text.startswith("-") else magnitude


def reason_text(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("is required: say why the balance is adjusted")
    if len(text) > REASON_MAX or "\x00" in text:
        raise ValueError(f"must be 1-{REASON_MAX} characters, without NUL")
    return text


class LedgerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def balance(self, account_id: int) -> Balance:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Account.balance, Account.currency).where(Account.id == account_id)
                )
            ).first()
            if row is None:
                raise ApiError(Status.AUTH_FAILED, "the account does not exist")
            reserved = await session.scalar(
                select(func.coalesce(func.sum(CallRecord.reserved), 0)).where(
                    CallRecord.account_id == account_id, CallRecord.hangup_time.is_(None)
                )
            )
        return Balance(row.balance, reserved or Decimal(0), row.currency)

    async def entries(self, account_id: int, window: LedgerWindow, page: PageRequest) -> Page[LedgerRow]:
        """The account's ledger in ``window``, newest first."""
        statement = _window(select(LedgerEntry).where(LedgerEntry.account_id == account_id), window)
        order = (LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        async with self._sessions() as session:
            entries: Page[LedgerEntry] = await fetch_page(session, statement, order, page)
        return Page([_row(entry) for entry in entries.records], entries.total, page)

    async def stream(
        self, account_id: int, window: LedgerWindow, batch: int = 500
    ) -> AsyncIterator[LedgerRow]:
        """Every row of the account's ledger in ``window``, newest first, fetched in batches (a CSV
        export of any size holds one batch in memory)."""
        statement = _window(select(LedgerEntry).where(LedgerEntry.account_id == account_id), window)
        ordered = statement.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        async with self._sessions() as session:
            result = await session.stream_scalars(ordered.execution_options(yield_per=batch))
            async for entry in result:
                yield _row(entry)

    # -- operator --------------------------------------------------------------------------
    async def entries_of(self, api_key: str, window: LedgerWindow, page: PageRequest) -> Page[LedgerRow]:
        async with self._sessions() as session:
            account_id = await account_id_of(session, api_key)
        return await self.entries(account_id, window, page)

    async def adjust(self, api_key: str, amount: Decimal | str | int, reason: str) -> LedgerRow:
        """Add ``amount`` (negative: take it) with a mandatory reason, never below zero (``-10``)."""
        delta = validation.check(adjustment, amount, "amount")
        why = validation.check(reason_text, reason, "reason")
        async with self._sessions() as session:
            account_id = await account_id_of(session, api_key)
            # Atomic in SQL, so that an adjustment racing a call's reservation loses neither.
            balance = await session.scalar(
                update(Account)
                .where(
                    Account.id == account_id,
                    Account.balance + delta >= 0,
                    Account.balance + delta <= validation.MONEY_MAX,
                )
                .values(balance=Account.balance + delta)
                .returning(Account.balance)
            )
            if balance is None:
                current = await session.scalar(select(Account.balance).where(Account.id == account_id))
                if delta < 0:
                    raise ApiError(
                        Status.BALANCE_INSUFFICIENT,
                        f"the adjustment would take the balance ({current}) below zero",
                    )
                raise parameter_error(f"amount would take the balance over {validation.MONEY_MAX}")
            entry = LedgerEntry(
                account_id=account_id,
                kind=Kind.ADJUST.value,
                amount=delta,
                balance_after=balance,
                reference=why,
                created_at=datetime.now(UTC),
            )
            session.add(entry)
            await session.flush()
            row = _row(entry)
            await session.commit()
        return row


def _window(statement: Select[LedgerEntry], window: LedgerWindow) -> Select[LedgerEntry]:
    if window.since is not None:
        statement = statement.where(LedgerEntry.created_at >= window.since)
    if window.until is not None:
        statement = statement.where(LedgerEntry.created_at < window.until)
    return statement


def _row(entry: LedgerEntry) -> LedgerRow:
    return LedgerRow(
        entry.id, entry.kind, entry.amount, entry.balance_after, entry.reference, entry.created_at
    )
