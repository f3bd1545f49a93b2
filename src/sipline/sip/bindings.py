"""Registered contacts ("bindings") and the storage protocol the registrar writes them through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sipline.sip.transport import Flow


@dataclass(slots=True)
class Binding:
    """One contact registered for an account, plus the flow it registered on (RFC 5626 style).

    Stores share these objects with their readers: treat a binding as immutable (a REGISTER
    replaces it with a new one)."""

    account: str
    contact: str  # contact URI exactly as registered (no <>, no header params)
    expires_at: datetime  # timezone-aware, UTC
    call_id: str
    cseq: int
    q: float | None = None
    transport: str = "udp"  # udp / tcp / tls
    source_host: str = ""
    source_port: int = 0
    local_host: str = ""
    local_port: int = 0
    connection_id: int | None = None  # TCP/TLS connection it came in on (valid in this process only)
    user_agent: str | None = None

    def remaining_seconds(self, now: datetime) -> int:
        return max(0, round((self.expires_at - now).total_seconds()))

    def flow(self) -> Flow:
        """The flow to send requests to this contact through (NAT-friendly: back to the source)."""
        return Flow(
            self.transport,
            (self.local_host, self.local_port),
            (self.source_host, self.source_port),
            self.connection_id,
        )


class BindingStore(Protocol):
    """Where the registrar keeps bindings; the in-memory one is ``MemoryBindingStore``.

    Reads and writes are synchronous: bindings are served from memory (a durable store writes
    them behind, see ``sipline.store.bindings``), so a REGISTER is answered without waiting and
    its read-modify-write of an account's bindings cannot interleave with another's.
    """

    def list_bindings(self, account: str) -> list[Binding]:
        """All stored bindings of an account (the registrar filters expired ones); a new list
        of the stored bindings themselves, not copies."""
        ...

    def save_binding(self, binding: Binding) -> None:
        """Insert, or replace the binding with the same (account, contact); the store may keep
        ``binding`` itself, so the caller must not change it afterwards."""
        ...

    def remove_binding(self, account: str, contact: str) -> None: ...

    def remove_all_bindings(self, account: str) -> None: ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete bindings with expires_at <= now (periodic upkeep); returns how many."""
        ...
