"""The operator's rate deck use cases (CLI, admin API, console): import a CSV, export a version, list them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sipline.billing.deck_csv import export_deck, parse_deck
from sipline.billing.deck_store import DeckStore, Progress
from sipline.billing.decks import DeckVersion
from sipline.billing.rate_book import RateBook
from sipline.billing.rating import RateDeck
from sipline.domain.errors import parameter_error


@dataclass(frozen=True)
class ExportedDeck:
    version: DeckVersion | None  # None: the config file's rates (no platform deck imported in effect)
    csv: str


class DeckService:
    def __init__(self, store: DeckStore, book: RateBook, fallback: RateDeck, max_lines: int) -> None:
        self._store = store
        self._book = book
        self._fallback = fallback
        self.max_lines = max_lines

    async def import_csv(
        self,
        data: bytes,
        account_key: str | None = None,
        effective_from: datetime | None = None,
        progress: Progress | None = None,
    ) -> DeckVersion:
        """Check the whole file (DeckRefused with line numbers), then write it as a new version in
        effect from ``effective_from`` (default: now)."""
        # Off the event loop: a million lines take seconds to check, and calls go on meanwhile.
        rates = await asyncio.to_thread(parse_deck, data, self.max_lines)
        version = await self._store.import_deck(
            rates, account_key, effective_from or datetime.now(UTC), progress
        )
        self._book.invalidate()
        return version

    async def export_csv(self, account_key: str | None = None, at: datetime | None = None) -> ExportedDeck:
        """The deck version in effect at ``at`` (default: now) as CSV."""
        version = await self._store.version_at(account_key, at or datetime.now(UTC))
        if version is not None:
            return ExportedDeck(version, export_deck((await self._book.deck(version.id)).rates()))
        if account_key is not None:
            raise parameter_error(f"account {account_key} has no rate deck in effect then")
        return ExportedDeck(None, export_deck(self._fallback.rates()))

    async def export_version(self, deck_id: int) -> ExportedDeck:
        """One version, in effect or not, as CSV (read from the database: a past version is not loaded
        into the rate book, whose memory is for the versions calls use)."""
        version = await self._store.version(deck_id)
        if version is None:
            raise parameter_error(f"rate deck version {deck_id} does not exist")
        return ExportedDeck(version, export_deck(await self._store.rates(deck_id)))

    async def versions(self, account_key: str | None = None) -> list[DeckVersion]:
        return await self._store.versions(account_key)
