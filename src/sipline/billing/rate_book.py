"""Which rate prices a call: the rate book the call path asks at acceptance, from memory.

The versions of every deck (platform and accounts, by effective time) are held in memory and each
deck version, once used, as a `RateDeck` (longest prefix wins), so sendSip does not touch the
database for its rate. Versions never change once imported, so a loaded deck stays right for ever
(only the least used are dropped beyond `max_decks`); what an import changes is the list of
versions, which is reloaded when this process imported (`invalidate`) or when the watcher sees the
database's change mark move (the admin CLI, another node).

A call is rated by the account's deck in effect at its acceptance when that deck has a prefix for the
number, else by the platform deck in effect then (decks.py: an account deck is an overlay). With no
platform deck in effect (none imported yet, or only future ones), the config file's ``rates`` are
the platform deck.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime

from sipline.billing.deck_store import ChangeMark, DeckStore
from sipline.billing.decks import VersionTimeline
from sipline.billing.rating import Rate, RateDeck
from sipline.services.polling import poll_forever

log = logging.getLogger("sipline.billing")

DEFAULT_MAX_DECKS = 256


class RateBook:
    def __init__(self, store: DeckStore, fallback: RateDeck, max_decks: int = DEFAULT_MAX_DECKS) -> None:
        self._store = store
        self._fallback = fallback  # the config file's rates: the platform deck until one is imported
        self._max_decks = max_decks
        self._timelines: dict[int | None, VersionTimeline] | None = None
        self._generation = 0
        self._decks: OrderedDict[int, RateDeck] = OrderedDict()
        self._loading: dict[int, asyncio.Task[RateDeck]] = {}
        # The load in flight, with the generation it started in (one started before an import is stale).
        self._loading_timelines: tuple[int, asyncio.Task[dict[int | None, VersionTimeline]]] | None = None
        self._seen: ChangeMark | None = None

    async def find(self, account_id: int, number: str, at: datetime) -> Rate | None:
        """The rate for a call of ``account_id`` to ``number`` accepted at ``at`` (None: no rate)."""
        timelines = self._timelines if self._timelines is not None else await self._shared_timelines()
        own = timelines.get(account_id)
        own_deck = own.in_effect(at) if own is not None else None
        if own_deck is not None:
            rate = (await self.deck(own_deck)).find(number)
            if rate is not None:
                return rate
        platform = timelines.get(None)
        platform_deck = platform.in_effect(at) if platform is not None else None
        deck = self._fallback if platform_deck is None else await self.deck(platform_deck)
        return deck.find(number)

    async def deck(self, deck_id: int) -> RateDeck:
        """A deck version from memory, loaded once (concurrent first calls share one load)."""
        cached = self._decks.get(deck_id)
        if cached is not None:
            self._decks.move_to_end(deck_id)
            return cached
        loading = self._loading.get(deck_id)
        if loading is None:
            loading = asyncio.create_task(self._load_deck(deck_id))
            self._loading[deck_id] = loading
            loading.add_done_callback(lambda _task: self._loading.pop(deck_id, None))
        return await asyncio.shield(loading)

    async def _load_deck(self, deck_id: int) -> RateDeck:
        deck = RateDeck(await self._store.rates(deck_id))
        self._decks[deck_id] = deck
        while len(self._decks) > self._max_decks:
            self._decks.popitem(last=False)
        return deck

    async def _shared_timelines(self) -> dict[int | None, VersionTimeline]:
        """The list of versions, loaded once for every call that finds it missing at the same time."""
        loading = self._loading_timelines
        if loading is None or loading[0] != self._generation or loading[1].done():
            loading = self._loading_timelines = (
                self._generation,
                asyncio.create_task(self._load_timelines()),
            )
        return await asyncio.shield(loading[1])

    async def _load_timelines(self) -> dict[int | None, VersionTimeline]:
        generation = self._generation
        timelines = await self._store.timelines()
        if generation == self._generation:  # not kept if an import raced the load
            self._timelines = timelines
        return timelines

    def invalidate(self) -> None:
        """A version was imported: the list of versions is read again at the next call."""
        self._generation += 1
        self._timelines = None

    async def warm(self, now: datetime) -> int:
        """Load every version in effect now or later (at most ``max_decks``), so that no call waits
        for a deck's first load (50,000 lines take about a second); how many versions that is."""
        timelines = await self._shared_timelines()
        wanted = [deck_id for timeline in timelines.values() for deck_id in timeline.from_(now)]
        for deck_id in wanted[: self._max_decks]:
            await self.deck(deck_id)
        return min(len(wanted), self._max_decks)

    async def refresh_if_changed(self) -> bool:
        """Reload the list of versions (and warm the decks) if any process imported since the last
        look; True if so. The first look, at start, warms the decks."""
        mark = await self._store.change_mark()
        seen, self._seen = self._seen, mark
        if seen is not None and mark == seen:
            return False
        if seen is not None:
            self.invalidate()
        await self.warm(datetime.now(UTC))
        return seen is not None

    async def watch(self, interval: float) -> None:
        """Run until cancelled: look for imports by other processes every ``interval`` seconds."""
        await poll_forever(self.refresh_if_changed, interval, log, "rate deck change")
