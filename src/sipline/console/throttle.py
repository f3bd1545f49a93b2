"""The console's sign-in rate limit: failed attempts counted per e-mail and per client address.

In memory and bounded: at most `max_keys` keys per kind (the least recently failed are forgotten), and
per key only the failures of the last window, at most `limit` of them (more are not needed to refuse).
"""

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureCounter:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def blocked(self, key: str) -> bool:
        """Whether `key` used up its failures in the window."""
        failures = self._failures.get(key)
        if failures is None:
            return False
        self._expire(failures)
        return len(failures) >= self._limit

    def failed(self, key: str) -> None:
        failures = self._failures.pop(key, None)
        if failures is None:
            failures = deque(maxlen=self._limit)
        self._expire(failures)
        failures.append(self._clock())
        self._failures[key] = failures  # most recent last
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _expire(self, failures: deque[float]) -> None:
        oldest = self._clock() - self._window
        while failures and failures[0] <= oldest:
            failures.popleft()


class LoginThrottle:
    """Refuses a sign-in when its e-mail or its source address failed too often lately."""

    def __init__(self, per_user: int, per_source: int, window: float) -> None:
        self.users = FailureCounter(per_user, window)
        self.sources = FailureCounter(per_source, window)

    def blocked(self, email: str, source: str) -> bool:
        return self.users.blocked(email) or self.sources.blocked(source)

    def failed(self, email: str, source: str) -> None:
        self.users.failed(email)
        self.sources.failed(source)

    def succeeded(self, email: str) -> None:
        self.users.forget(email)
