"""Bounds on the TCP/TLS connections peers open to us: how many, from where, and for how long.

A flood of connections must not take the descriptors the HTTP API and the database need, and a
connection that stays silent must not hold one forever. The transport asks ``admit`` when a peer
connects and ``why_expired`` for each connection on one periodic sweep (no timer per connection).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

REFUSAL_LOG_INTERVAL = 10.0  # seconds: at most one warning this often, however many are refused


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 1024  # accepted (inbound) TCP + TLS connections, in total
    max_per_address: int = 64  # ... from one source address
    idle_timeout: float = 120.0  # nothing received (message or keep-alive) for this long: closed
    handshake_timeout: float = 20.0  # nothing at all received since it was opened (TLS: handshake too)
    partial_message_timeout: float = 32.0  # a message started and never finished (slowloris)

    @property
    def sweep_interval(self) -> float:
        """How often connections are checked: a quarter of the shortest timeout, within 50 ms..5 s,
        so a connection is closed at most that late."""
        shortest = min(self.idle_timeout, self.handshake_timeout, self.partial_message_timeout)
        return min(5.0, max(0.05, shortest / 4))


@dataclass(slots=True)
class ConnectionClock:
    """What the sweep needs to know of one connection (times on the event loop's clock)."""

    opened_at: float
    inbound: bool  # accepted from a peer (limits apply) or opened by us (to a trunk, a phone)
    last_received: float | None = None  # None: not a byte yet
    partial_since: float | None = None  # an incomplete message waits in the buffer since then
    held_until: float = 0.0  # e.g. a registration's expiry: not closed for idleness before


class ConnectionGuard:
    """Admits or refuses new inbound connections and says which ones have stayed silent too long."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._per_address: Counter[str] = Counter()
        self._total = 0
        self._refused = 0
        self._last_warning: float | None = None

    @property
    def inbound(self) -> int:
        return self._total

    def admit(self, address: str, now: float) -> bool:
        """Count a new inbound connection from ``address``, or refuse it (False) over a limit."""
        limits = self.limits
        if self._total >= limits.max_connections:
            self._refuse(now, f"{self._total} connections open (sip_max_connections)")
            return False
        if self._per_address[address] >= limits.max_per_address:
            self._refuse(now, f"{address} has {self._per_address[address]} (sip_max_connections_per_address)")
            return False
        self._per_address[address] += 1
        self._total += 1
        return True

    def release(self, address: str) -> None:
        """An admitted connection from ``address`` has closed."""
        self._total -= 1
        left = self._per_address[address] - 1
        if left > 0:
            self._per_address[address] = left
        else:
            del self._per_address[address]

    def why_expired(self, clock: ConnectionClock, now: float) -> str | None:
        """Why a connection must be closed now, or None to keep it."""
        limits = self.limits
        if clock.partial_since is not None and now - clock.partial_since > limits.partial_message_timeout:
            return "incomplete message for too long"
        if not clock.inbound:
            return None  # ours: dialogs may still need it; the peer closes it when it wants
        if clock.last_received is None:
            if now - clock.opened_at > limits.handshake_timeout:
                return "nothing received since it was opened"
            return None
        if now - clock.last_received > limits.idle_timeout and now >= clock.held_until:
            return "idle (no message or keep-alive)"
        return None

    def _refuse(self, now: float, reason: str) -> None:
        # Rate-limited: a flood must not become a flood of log lines.
        self._refused += 1
        if self._last_warning is None or now - self._last_warning >= REFUSAL_LOG_INTERVAL:
            log.warning("refused %d SIP TCP/TLS connection(s): %s", self._refused, reason)
            self._refused = 0
            self._last_warning = now
