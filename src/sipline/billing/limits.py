"""Fraud limits per account, and the admission check every new call passes (``CallAdmission``).

An operator sets, per account (``account_limits``, billing/limit_store.py): the most calls it may have
up at once, the most new calls a second, a daily spend cap (UTC day: the day's call debits plus the
open reservations), and destination prefixes denied, or the only ones allowed. A hijacked account
then burns at most what these allow.

Concurrency and the call rate are counted in memory, per node (``CallAdmission`` is one per node, made
by the composition root): no database work per call. On several nodes each enforces the limits for
the calls it places, so an account spread over N nodes may reach N times them (docs/operations.md).
The limits themselves are cached and dropped whenever the directory is invalidated (an operator's
change here, or another process's through ``directory_version``); the daily spend is read from the
database, and only for accounts that have a cap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sipline.billing.rating import money_text
from sipline.domain import validation
from sipline.domain.errors import ApiError
from sipline.domain.status import Status

MAX_CONCURRENT_MAX = 100_000
MAX_CPS_MAX = 10_000
PREFIXES_MAX = 1_000  # entries in a deny or allow list
PREFIX_DIGITS_MAX = 20  # as long as a callee number
RATE_WINDOW = 1.0  # seconds: "new calls per second" counts the calls admitted in the last second


@dataclass(frozen=True)
class AccountLimits:
    """One account's limits; None (or an empty list) means no limit of that kind."""

    max_concurrent: int | None = None
    max_cps: int | None = None
    daily_cap: Decimal | None = None
    deny: tuple[str, ...] = ()
    allow_only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _bounded(self.max_concurrent, MAX_CONCURRENT_MAX, "maxConcurrent")
        _bounded(self.max_cps, MAX_CPS_MAX, "maxCps")
        if self.daily_cap is not None:
            validation.check(validation.money, self.daily_cap, "dailyCap")
        for field, values in (("deny", self.deny), ("allowOnly", self.allow_only)):
            validation.check(prefixes, list(values), field)

    @classmethod
    def of(
        cls,
        max_concurrent: int | None = None,
        max_cps: int | None = None,
        daily_cap: Decimal | str | None = None,
        deny: list[str] | None = None,
        allow_only: list[str] | None = None,
    ) -> AccountLimits:
        """Limits from an operator's input, checked (-22 naming the field) and normalised."""
        return cls(
            max_concurrent,
            max_cps,
            None if daily_cap is None else validation.check(validation.money, daily_cap, "dailyCap"),
            validation.check(prefixes, deny or [], "deny"),
            validation.check(prefixes, allow_only or [], "allowOnly"),
        )

    def barred(self, destination: str) -> str | None:
        """Why calls to ``destination`` are refused, or None when they are not."""
        denied = _matching(self.deny, destination)
        if denied is not None:
            return f"calls to prefix {denied} are denied for this account"
        if self.allow_only and _matching(self.allow_only, destination) is None:
            return "the destination is not among the prefixes allowed for this account"
        return None


def prefixes(values: list[str]) -> tuple[str, ...]:
    """Destination prefixes: 1-20 digits each, at most 1,000, duplicates dropped, order kept."""
    if len(values) > PREFIXES_MAX:
        raise ValueError(f"must have at most {PREFIXES_MAX} prefixes")
    seen: dict[str, None] = {}
    for raw in values:
        prefix = raw.strip().removeprefix("+")
        if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= PREFIX_DIGITS_MAX):
            raise ValueError(f"prefix {raw[:32]!r} must be 1-{PREFIX_DIGITS_MAX} digits")
        seen[prefix] = None
    return tuple(seen)


def utc_midnight(now: datetime) -> datetime:
    """The start of ``now``'s UTC day: where a daily spend cap counts from."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _bounded(value: int | None, maximum: int, field: str) -> None:
    if value is not None and not 1 <= value <= maximum:
        raise ApiError(Status.PARAMETER_ERROR, f"{field} must be 1-{maximum}")


def _matching(prefix_list: tuple[str, ...], number: str) -> str | None:
    return next((prefix for prefix in prefix_list if number.startswith(prefix)), None)


class Generation(Protocol):
    """What tells a cache that the accounts changed: the directory's invalidation counter."""

    @property
    def generation(self) -> int: ...


LoadLimits = Callable[[int], Awaitable[AccountLimits]]
DailySpend = Callable[[int, datetime], Awaitable[Decimal]]  # an account's spend since a UTC midnight


class Admission:
    """An admitted call: it counts against the account's concurrency until ``release``."""

    def __init__(self, owner: CallAdmission, account_id: int) -> None:
        self._owner = owner
        self.account_id = account_id
        self._released = False

    def release(self) -> None:
        """The call is over (or was never placed); idempotent."""
        if not self._released:
            self._released = True
            self._owner._release(self.account_id)


class CallAdmission:
    """The one check of every new call against its account's fraud limits, for sendSip and for any
    other way of placing calls (calls dialled from phones): ``admit`` or an ``ApiError``."""

    def __init__(self, load: LoadLimits, daily_spend: DailySpend, directory: Generation) -> None:
        self._load = load
        self._daily_spend = daily_spend
        self._directory = directory
        self._limits: dict[int, AccountLimits] = {}
        self._generation = directory.generation
        self._live: dict[int, int] = {}  # account -> its calls admitted and not yet released
        self._recent: dict[int, deque[float]] = {}  # account -> admission times in the rate window
        self.refusals: dict[str, int] = {}  # by status code (metrics)

    async def admit(
        self, account_id: int, destination: str, now: datetime, reserve: Decimal = Decimal(0)
    ) -> Admission:
        """Admit a call to ``destination`` at ``now`` that first reserves ``reserve``, or raise
        ``ApiError`` (-83 destination, -80 concurrency, -81 call rate, -82 daily spend cap)."""
        limits = await self.limits_of(account_id)
        barred = limits.barred(destination)
        if barred is not None:
            raise self._refused(Status.DESTINATION_BARRED, barred)
        if limits.daily_cap is not None:
            spent = await self._daily_spend(account_id, utc_midnight(now))
            if spent + reserve > limits.daily_cap:
                raise self._refused(
                    Status.DAILY_SPEND_CAP,
                    f"the daily spend cap of {money_text(limits.daily_cap)} is reached "
                    f"({money_text(spent)} spent today, UTC)",
                )
        # From here on no await: the counts read are the counts changed (one event loop).
        live = self._live.get(account_id, 0)
        if limits.max_concurrent is not None and live >= limits.max_concurrent:
            raise self._refused(
                Status.CONCURRENT_CALLS_LIMIT,
                f"the account has {live} calls up, its limit is {limits.max_concurrent}",
            )
        if limits.max_cps is not None:  # only accounts with a rate limit keep admission times
            moment = now.timestamp()
            recent = self._recent.setdefault(account_id, deque())
            while recent and recent[0] <= moment - RATE_WINDOW:
                recent.popleft()
            if len(recent) >= limits.max_cps:
                raise self._refused(
                    Status.CALL_RATE_LIMIT,
                    f"the account may start at most {limits.max_cps} calls a second",
                )
            recent.append(moment)
        self._live[account_id] = live + 1
        return Admission(self, account_id)

    def live_calls(self, account_id: int) -> int:
        """The account's calls admitted on this node and not yet released."""
        return self._live.get(account_id, 0)

    async def limits_of(self, account_id: int) -> AccountLimits:
        """The account's limits, from the cache while the directory has not been invalidated."""
        if self._directory.generation != self._generation:
            self._limits.clear()
            self._generation = self._directory.generation
        cached = self._limits.get(account_id)
        if cached is not None:
            return cached
        generation = self._generation
        limits = await self._load(account_id)
        if generation == self._directory.generation and len(self._limits) < 100_000:
            self._limits[account_id] = limits
        return limits

    def _refused(self, status: Status, reason: str) -> ApiError:
        self.refusals[status.value] = self.refusals.get(status.value, 0) + 1
        return ApiError(status, reason)

    def _release(self, account_id: int) -> None:
        left = self._live.get(account_id, 0) - 1
        if left > 0:
            self._live[account_id] = left
        else:
            self._live.pop(account_id, None)
            if not self._recent.get(account_id):
                self._recent.pop(account_id, None)
