"""A trunk's reachability, from the OPTIONS pings the platform sends it (calls/trunk_health.py).

The rule:

- A trunk is **up** as soon as it answers an OPTIONS with any final response: 200, and also 4xx, 5xx
  or 6xx sent by the trunk itself (a carrier that refuses OPTIONS, or challenges them with 401/407,
  is still there to take calls).
- A ping the trunk does not answer fails: no response within ``trunk_ping_timeout``, the 408 or 503
  our own SIP stack makes up (timer F, a message it could not send), a connection refused, a host
  name that does not resolve. A trunk is **down** after ``trunk_down_after`` such failures in a row.
- **unknown** until the first answer, or until the failures reach that number.

Pure: no clock, no I/O; the monitor gives each ping's outcome with its times.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class TrunkState(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class PingFailure(StrEnum):
    """Why a ping got no answer from the trunk."""

    TIMEOUT = "timeout"  # nothing came back in time (or the stack's own 408)
    UNREACHABLE = "unreachable"  # the request could not be sent (connection refused, the stack's 503)
    UNRESOLVED = "unresolved"  # the trunk's host name has no address


@dataclass(frozen=True)
class Ping:
    """One OPTIONS and its outcome: a status answered by the trunk, or a failure."""

    sent_at: datetime  # UTC
    status: int | None = None  # the trunk's final response code
    rtt: float | None = None  # seconds from sending to the answer
    failure: PingFailure | None = None

    def __post_init__(self) -> None:
        if (self.status is None) == (self.failure is None):
            raise ValueError("a ping has either an answer or a failure")
        if self.status is not None and not 200 <= self.status <= 699:
            raise ValueError(f"{self.status} is not a final SIP status")

    @classmethod
    def answered(cls, sent_at: datetime, status: int, rtt: float) -> Ping:
        return cls(sent_at, status=status, rtt=max(0.0, rtt))

    @classmethod
    def failed(cls, sent_at: datetime, failure: PingFailure) -> Ping:
        return cls(sent_at, failure=failure)


@dataclass(frozen=True)
class TrunkHealth:
    """What the pings of one trunk found so far."""

    state: TrunkState = TrunkState.UNKNOWN
    last_sent: datetime | None = None  # UTC, the last ping
    last_answered: datetime | None = None  # UTC, when the last answer came
    last_status: int | None = None  # the last answer's code (kept while the trunk fails)
    rtt: float | None = None  # seconds, the last answer's round trip
    failures: int = 0  # pings in a row without an answer
    last_failure: PingFailure | None = None  # why the last ping failed, when it did

    def after(self, ping: Ping, down_after: int) -> TrunkHealth:
        """The health once ``ping`` is known; down after ``down_after`` failures in a row."""
        if down_after < 1:
            raise ValueError("down_after must be at least 1")
        if ping.status is not None:
            answered_at = ping.sent_at + timedelta(seconds=ping.rtt or 0.0)
            return TrunkHealth(TrunkState.UP, ping.sent_at, answered_at, ping.status, ping.rtt, 0, None)
        failures = self.failures + 1
        state = TrunkState.DOWN if failures >= down_after else self.state
        return replace(
            self, state=state, last_sent=ping.sent_at, failures=failures, last_failure=ping.failure
        )

    @property
    def rtt_ms(self) -> float | None:
        return None if self.rtt is None else round(self.rtt * 1000, 1)


@dataclass(frozen=True)
class TrunkStatus:
    """A trunk as the console shows it: where it is (never its credentials) and its health."""

    name: str
    host: str
    port: int
    transport: str
    health: TrunkHealth
