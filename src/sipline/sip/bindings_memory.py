"""In-memory BindingStore (single process; lost on restart)."""

from __future__ import annotations

from datetime import datetime

from sipline.sip.bindings import Binding


class MemoryBindingStore:
    def __init__(self) -> None:
        self._by_account: dict[str, dict[str, Binding]] = {}

    def list_bindings(self, account: str) -> list[Binding]:
        found = self._by_account.get(account)
        return list(found.values()) if found else []

    def save_binding(self, binding: Binding) -> None:
        """Keeps ``binding`` itself: the caller hands over a binding it no longer changes."""
        self._by_account.setdefault(binding.account, {})[binding.contact] = binding

    def remove_binding(self, account: str, contact: str) -> None:
        bindings = self._by_account.get(account)
        if bindings is not None:
            bindings.pop(contact, None)
            if not bindings:
                del self._by_account[account]

    def remove_all_bindings(self, account: str) -> None:
        self._by_account.pop(account, None)

    def counts(self) -> tuple[int, int]:
        """(accounts with a binding, bindings) as stored, for metrics: counted in C, no expiry check
        (at 100,000 bindings that check cost 0.1 s a scrape); expired ones go at the next purge."""
        return len(self._by_account), sum(map(len, self._by_account.values()))

    async def purge_expired(self, now: datetime) -> int:
        removed = 0
        for account in list(self._by_account):
            bindings = self._by_account[account]
            for contact in [c for c, b in bindings.items() if b.expires_at <= now]:
                del bindings[contact]
                removed += 1
            if not bindings:
                del self._by_account[account]
        return removed
