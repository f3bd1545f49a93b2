"""Brute-force protection: sources with repeated authentication failures get banned."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BanPolicy:
    max_failures: int = 5  # failures tolerated within ``window`` seconds ...
    window: float = 60.0
    ban_seconds: float = 600.0  # ... then everything from the source is refused this long
    answer_banned: bool = False  # False: drop silently (a scanner learns nothing); True: 403
    slow_after: int = 2  # failures after which each further rejection is delayed (tarpit) ...
    slow_delay: float = 1.0  # ... by this many seconds, so guessing is rate-limited before the ban


@dataclass
class AuthFailureTracker:
    """Failure counts per source IP; one source's success never resets another's count."""

    policy: BanPolicy = field(default_factory=BanPolicy)
    clock: Callable[[], float] = time.monotonic
    max_sources: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _banned_until: dict[str, float] = field(default_factory=dict)

    def is_banned(self, source: str) -> bool:
        until = self._banned_until.get(source)
        if until is None:
            return False
        if self.clock() >= until:
            del self._banned_until[source]
            return False
        return True

    def record_failure(self, source: str) -> bool:
        """Count a failed authentication; True when the source is (now) banned."""
        now = self.clock()
        failures = self._failures
        times = failures.pop(source, None) or deque()
        failures[source] = times  # re-inserted: dict order is "least recently failed first"
        times.append(now)
        horizon = now - self.policy.window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) > self.policy.max_failures:
            self._banned_until[source] = now + self.policy.ban_seconds
            del failures[source]
            return True
        # bound memory under a distributed sweep: forget sources idle for a window, or the oldest
        while len(failures) > 1:
            oldest = next(iter(failures))
            if failures[oldest][-1] > horizon and len(failures) <= self.max_sources:
                break
            del failures[oldest]
        return False

    def refusal_delay(self, source: str) -> float | None:
        """Count a failed authentication and say how to refuse it: None to drop it unanswered (the
        source is now banned and the policy drops banned sources), else the seconds to wait before
        the 403 (0 at once; the tarpit once the source has failed ``slow_after`` times)."""
        policy = self.policy
        if self.record_failure(source):
            log.warning("banning %s after repeated SIP auth failures", source)
            if not policy.answer_banned:
                return None
        elif self.recent_failures(source) > policy.slow_after and policy.slow_delay > 0:
            return policy.slow_delay
        return 0.0

    def recent_failures(self, source: str) -> int:
        times = self._failures.get(source)
        return len(times) if times else 0

    def banned_sources(self) -> list[str]:
        return [s for s in list(self._banned_until) if self.is_banned(s)]

    def unban(self, source: str) -> None:
        self._banned_until.pop(source, None)
        self._failures.pop(source, None)
