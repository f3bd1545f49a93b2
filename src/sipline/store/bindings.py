"""Registrations that survive a restart: bindings served from memory, written behind to the database.

Every REGISTER changes a binding, and the registrar must answer thousands a second; a database write
per REGISTER cannot keep up. So the registrar reads and writes the in-memory store, and a flusher
writes what changed to `sip_bindings` in one transaction every `flush_interval` (default 1 s) and
at shutdown. A crash loses at most that much: the phones' next REGISTER brings it back.

Most REGISTERs are refreshes: same contact, same flow, only a later expiry. Those are written every
`refresh_every` flushes (default 10) instead: after a crash such a binding comes back with the expiry
of its previous refresh, which a phone refreshing at half its interval has not reached yet.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from sipline.sip.bindings import Binding
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.store.models import SipBinding

log = logging.getLogger("sipline.bindings")
_Key = tuple[str, str]


class PersistentBindingStore(MemoryBindingStore):
    def __init__(self, engine: AsyncEngine, *, refresh_every: int = 10) -> None:
        super().__init__()
        self._engine = engine
        self._sessions = async_sessionmaker(engine)
        self._dirty: set[_Key] = set()  # written by the next flush
        self._refreshed: set[_Key] = set()  # only expiry / Call-ID / CSeq moved: written less often
        self._refresh_every = refresh_every
        self._flushes = 0

    async def load(self, now: datetime) -> int:
        """Read the bindings that have not expired yet (at start); returns how many."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(SipBinding).where(SipBinding.expires_at > now))).all()
        for row in rows:
            super().save_binding(_binding(row))
        return len(rows)

    def save_binding(self, binding: Binding) -> None:
        key = (binding.account, binding.contact)
        previous = self._by_account.get(binding.account, {}).get(binding.contact)
        super().save_binding(binding)
        if key in self._dirty:
            return
        if previous is not None and _same_flow(previous, binding):
            self._refreshed.add(key)
        else:
            self._dirty.add(key)

    def remove_binding(self, account: str, contact: str) -> None:
        super().remove_binding(account, contact)
        self._dirty.add((account, contact))

    def remove_all_bindings(self, account: str) -> None:
        self._dirty.update((account, contact) for contact in self._by_account.get(account, {}))
        super().remove_all_bindings(account)

    async def purge_expired(self, now: datetime) -> int:
        removed = await super().purge_expired(now)
        async with self._sessions() as session:
            await session.execute(delete(SipBinding).where(SipBinding.expires_at <= now))
            await session.commit()
        return removed

    def latest(self, account: str, now: datetime) -> Binding | None:
        """The account's live binding that expires last, without copying (hot path of sipQuery)."""
        found = self._by_account.get(account)
        if not found:
            return None
        live = [binding for binding in found.values() if binding.expires_at > now]
        return max(live, key=lambda binding: binding.expires_at) if live else None

    async def flush(self, *, everything: bool = False) -> int:
        """Write the bindings changed since the last flush (refreshes only every `refresh_every`
        flushes, or with ``everything``); returns how many keys were written."""
        self._flushes += 1
        keys = list(self._dirty)
        self._dirty = set()
        if everything or self._flushes % self._refresh_every == 0:
            keys += self._refreshed - set(keys)
            self._refreshed = set()
        if not keys:
            return 0
        # Rows are built now, from the live bindings (no copies), before any await lets them change.
        saved, removed = [], []
        for account, contact in keys:
            binding = self._by_account.get(account, {}).get(contact)
            if binding is None:
                removed.append({"gone_account": account, "gone_contact": contact})
            else:
                saved.append(_row(binding))
        try:
            # Core statements run as executemany: the ORM's per-row work would cost the registrar's core.
            async with self._engine.begin() as connection:
                if removed:
                    await connection.execute(_DELETE_ONE, removed)
                if saved:
                    await connection.execute(_upsert(connection.dialect.name), saved)
        except BaseException:
            # Written next time: nothing is dropped on a database hiccup, nor when a flush is
            # cancelled half-way at shutdown (run() then flushes once more).
            self._dirty.update(keys)
            raise
        return len(keys)

    async def run(self, flush_interval: float) -> None:
        """Flush until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(flush_interval)
                try:
                    await self.flush()
                except Exception:
                    log.warning("writing registrations to the database failed; retrying", exc_info=True)
        finally:
            await self.flush(everything=True)


# Everything _row() writes but the key: what an upsert of a known (account, contact) replaces.
_UPDATED = tuple(c.name for c in SipBinding.__table__.columns if c.name not in ("id", "account", "contact"))
_DELETE_ONE = delete(SipBinding).where(
    SipBinding.account == bindparam("gone_account"), SipBinding.contact == bindparam("gone_contact")
)


def _upsert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (account, contact) DO UPDATE, in the dialect's own syntax."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SipBinding)
    changed = {name: statement.excluded[name] for name in _UPDATED}
    upsert: Insert = statement.on_conflict_do_update(index_elements=["account", "contact"], set_=changed)
    return upsert


def _same_flow(before: Binding, after: Binding) -> bool:
    """Whether ``after`` only refreshes ``before`` as far as the stored row goes (expiry aside)."""
    return (
        before.transport == after.transport
        and before.source_host == after.source_host
        and before.source_port == after.source_port
        and before.local_host == after.local_host
        and before.local_port == after.local_port
        and before.q == after.q
        and before.user_agent == after.user_agent
    )


def _row(binding: Binding) -> dict[str, Any]:
    return {
        "account": binding.account,
        "contact": binding.contact,
        "expires_at": binding.expires_at,
        "call_id": binding.call_id,
        "cseq": binding.cseq,
        "q": binding.q,
        "transport": binding.transport,
        "source_host": binding.source_host,
        "source_port": binding.source_port,
        "local_host": binding.local_host,
        "local_port": binding.local_port,
        "user_agent": binding.user_agent,
    }


def _binding(row: SipBinding) -> Binding:
    return Binding(
        account=row.account,
        contact=row.contact,
        expires_at=row.expires_at,
        call_id=row.call_id,
        cseq=row.cseq,
        q=row.q,
        transport=row.transport,
        source_host=row.source_host,
        source_port=row.source_port,
        local_host=row.local_host,
        local_port=row.local_port,
        connection_id=None,  # connections do not survive a restart; the source address still does
        user_agent=row.user_agent,
    )
