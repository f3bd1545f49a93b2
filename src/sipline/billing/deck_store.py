"""Rate deck versions in the database: import (one transaction, bulk insert), list, read back.

A version is never changed once written, so a loaded deck can be cached by its id for ever; what
changes is which versions exist, and `change_mark` (their count and highest id) tells every process
when another one imported (rate_book.py polls it, as the directory polls directory_version).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.billing.decks import DeckVersion, VersionTimeline
from sipline.billing.rating import BillingPeriod, Rate
from sipline.services.tenancy import account_by_key
from sipline.store.models import Account, RateDeckLine, RateDeckRow

INSERT_BATCH = 5000  # lines per executemany: progress is reported after each
Progress = Callable[[int, int], None]  # (lines written, lines in all)
ChangeMark = tuple[int, int]
# A deck has a handful of billing periods among its lines: each text parsed once.
_period = functools.lru_cache(maxsize=1024)(BillingPeriod.parse)


class DeckStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def import_deck(
        self,
        rates: list[Rate],
        account_key: str | None,
        effective_from: datetime,
        progress: Progress | None = None,
    ) -> DeckVersion:
        """Write a new version of the platform's deck (account_key None) or an account's: all of it,
        or nothing (one transaction)."""
        async with self._sessions() as session, session.begin():
            account_id = (await account_by_key(session, account_key)).id if account_key else None
            deck = RateDeckRow(account_id=account_id, effective_from=effective_from, lines=len(rates))
            session.add(deck)
            await session.flush()
            rows = [_row(deck.id, rate) for rate in rates]
            for start in range(0, len(rows), INSERT_BATCH):
                await session.execute(insert(RateDeckLine), rows[start : start + INSERT_BATCH])
                if progress is not None:
                    progress(min(start + INSERT_BATCH, len(rows)), len(rows))
            return _version(deck, account_key)

    async def versions(self, account_key: str | None = None) -> list[DeckVersion]:
        """Every version, by owner then effective time (only an account's if account_key is given)."""
        async with self._sessions() as session:
            statement = select(RateDeckRow, Account.api_key).outerjoin(
                Account, RateDeckRow.account_id == Account.id
            )
            if account_key is not None:
                account = await account_by_key(session, account_key)
                statement = statement.where(RateDeckRow.account_id == account.id)
            rows = (
                await session.execute(
                    statement.order_by(
                        RateDeckRow.account_id.is_(None).desc(),  # the platform's first, on both databases
                        Account.api_key,
                        RateDeckRow.effective_from,
                        RateDeckRow.id,
                    )
                )
            ).all()
        return [_version(deck, key) for deck, key in rows]

    async def version(self, deck_id: int) -> DeckVersion | None:
        """One version by its id (None when there is no such version)."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(RateDeckRow, Account.api_key)
                    .outerjoin(Account, RateDeckRow.account_id == Account.id)
                    .where(RateDeckRow.id == deck_id)
                )
            ).first()
        return None if row is None else _version(row[0], row[1])

    async def version_at(self, account_key: str | None, at: datetime) -> DeckVersion | None:
        """The version of the platform's (or the account's) deck in effect at ``at``."""
        async with self._sessions() as session:
            account_id = (await account_by_key(session, account_key)).id if account_key else None
            owner = (
                RateDeckRow.account_id.is_(None)
                if account_id is None
                else RateDeckRow.account_id == account_id
            )
            deck = await session.scalar(
                select(RateDeckRow)
                .where(owner, RateDeckRow.effective_from <= at)
                .order_by(RateDeckRow.effective_from.desc(), RateDeckRow.id.desc())
                .limit(1)
            )
        return None if deck is None else _version(deck, account_key)

    async def rates(self, deck_id: int) -> list[Rate]:
        async with self._sessions() as session:
            lines = await session.execute(
                select(
                    RateDeckLine.prefix,
                    RateDeckLine.rate,
                    RateDeckLine.bill_period,
                    RateDeckLine.base_rate,
                    RateDeckLine.connect_fee,
                    RateDeckLine.destination,
                ).where(RateDeckLine.deck_id == deck_id)
            )
            found = lines.all()
        return [
            Rate(prefix, rate, _period(period), base, fee, name)
            for prefix, rate, period, base, fee, name in found
        ]

    async def timelines(self) -> dict[int | None, VersionTimeline]:
        """Each owner's versions (account id, None for the platform), for the rate book."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(RateDeckRow.account_id, RateDeckRow.effective_from, RateDeckRow.id)
                )
            ).all()
        by_owner: dict[int | None, list[tuple[datetime, int]]] = {}
        for account_id, effective_from, deck_id in rows:
            by_owner.setdefault(account_id, []).append((effective_from, deck_id))
        return {owner: VersionTimeline(versions) for owner, versions in by_owner.items()}

    async def change_mark(self) -> ChangeMark:
        """Changes whenever a version is imported (or an account's go with it)."""
        async with self._sessions() as session:
            count, highest = (await session.execute(select(func.count(), func.max(RateDeckRow.id)))).one()
        return int(count), int(highest or 0)


def _row(deck_id: int, rate: Rate) -> dict[str, object]:
    return {
        "deck_id": deck_id,
        "prefix": rate.prefix,
        "destination": rate.destination,
        "rate": rate.per_minute,
        "base_rate": rate.base_per_minute,
        "bill_period": str(rate.period),
        "connect_fee": rate.connect_fee,
    }


def _version(deck: RateDeckRow, account_key: str | None) -> DeckVersion:
    return DeckVersion(deck.id, account_key, deck.effective_from, deck.lines, deck.created_at)
