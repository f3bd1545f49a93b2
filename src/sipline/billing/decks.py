"""Rate decks as an operator manages them: lines checked one by one, versions by effective time.

Pure (no I/O): the CSV reader (deck_csv.py) turns text into `DeckLine`s, this module turns them into
`Rate`s or refuses the whole deck with every problem's line number, and picks the version in effect.

Which deck rates a call (CGRateS' rating profiles with a fallback subject): the account's own deck
is an *overlay*. When the account's deck in effect has a prefix matching the number, its longest
match wins; when it has none, the platform deck in effect rates the call. So an account deck lists
only the destinations it prices differently; one with the catch-all prefix "" replaces the platform
deck entirely.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sipline.billing.rating import BillingPeriod, Rate

MAX_PREFIX_DIGITS = 32
MAX_DESTINATION = 128
MAX_RATE = Decimal(1_000_000)  # per minute, and for a connect fee: far above any real tariff
MAX_PERIOD_SECONDS = 3600
MONEY_PLACES = 4  # the Money column's precision: a rate with more decimals would be rounded silently
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
MAX_ERRORS_SHOWN = 100  # a refusal names at most this many problems (and how many more there were)


@dataclass(frozen=True)
class DeckLine:
    """One line of a deck as read, before any check: fields are the text found (None: column absent)."""

    number: int  # 1-based line number in the file
    prefix: str
    destination: str
    rate: str
    base_rate: str
    period: str
    connect_fee: str


@dataclass(frozen=True)
class LineError:
    line: int  # 0: the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class DeckRefused(ValueError):
    """The deck is refused whole; ``errors`` name each problem and its line."""

    def __init__(self, errors: list[LineError], more: int = 0) -> None:
        self.errors = errors
        self.more = more  # problems found beyond those listed
        super().__init__(self.summary())

    def summary(self) -> str:
        shown = "; ".join(str(error) for error in self.errors[:5])
        hidden = len(self.errors) - 5 + self.more
        return f"rate deck refused: {shown}" + (f" (and {hidden} more)" if hidden > 0 else "")


class ErrorList:
    """Problems found while reading a deck, kept up to MAX_ERRORS_SHOWN (the rest only counted)."""

    def __init__(self) -> None:
        self.errors: list[LineError] = []
        self.more = 0

    def add(self, line: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(LineError(line, message))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.errors:
            raise DeckRefused(sorted(self.errors, key=lambda error: error.line), self.more)


def parse_money(text: str, what: str) -> Decimal:
    """A non-negative amount with at most 4 decimals, at most MAX_RATE; ValueError says why not."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a number")
    if value < 0:
        raise ValueError(f"{what} {text} is negative")
    if value > MAX_RATE:
        raise ValueError(f"{what} {text} is above {MAX_RATE}")
    exact = value.quantize(MONEY_QUANTUM)
    if exact != value:
        raise ValueError(f"{what} {text} has more than {MONEY_PLACES} decimals")
    return exact


def parse_period(text: str) -> BillingPeriod:
    period = BillingPeriod.parse(text)
    if period.first > MAX_PERIOD_SECONDS or period.next > MAX_PERIOD_SECONDS:
        raise ValueError(f"billing period {text!r}: each part is at most {MAX_PERIOD_SECONDS} s")
    return period


def rate_of(line: DeckLine) -> Rate:
    """The line as a Rate; ValueError names the first problem of the line."""
    prefix = line.prefix.strip()
    if prefix and not (prefix.isascii() and prefix.isdigit()):
        raise ValueError(f"prefix {line.prefix!r} is not digits")
    if len(prefix) > MAX_PREFIX_DIGITS:
        raise ValueError(f"prefix {prefix} is longer than {MAX_PREFIX_DIGITS} digits")
    destination = line.destination.strip()
    if len(destination) > MAX_DESTINATION:
        raise ValueError(f"destination name is longer than {MAX_DESTINATION} characters")
    rate = parse_money(line.rate, "rate")
    base = parse_money(line.base_rate, "base rate") if line.base_rate.strip() else None
    fee = parse_money(line.connect_fee, "connect fee") if line.connect_fee.strip() else Decimal(0)
    return Rate(prefix, rate, parse_period(line.period), base, fee, destination)


def rates_of(lines: list[DeckLine], errors: ErrorList | None = None) -> list[Rate]:
    """Every line as a Rate, or DeckRefused naming every bad line (and duplicate prefixes)."""
    errors = errors if errors is not None else ErrorList()
    rates: list[Rate] = []
    first_seen: dict[str, int] = {}
    for line in lines:
        try:
            rate = rate_of(line)
        except ValueError as exc:
            errors.add(line.number, str(exc))
            continue
        earlier = first_seen.setdefault(rate.prefix, line.number)
        if earlier != line.number:
            shown = rate.prefix or '"" (every number)'
            errors.add(line.number, f"prefix {shown} appears twice (first on line {earlier})")
            continue
        rates.append(rate)
    if not lines and not errors.errors:
        errors.add(0, "the deck has no rate lines")
    errors.raise_if_any()
    return rates


@dataclass(frozen=True)
class DeckVersion:
    """One imported deck: the platform's (account None) or an account's, in effect from a UTC time."""

    id: int
    account: str | None  # the account's apiKey; None: the platform deck
    effective_from: datetime
    lines: int
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "account": self.account,
            "effectiveFrom": self.effective_from.isoformat(),
            "lines": self.lines,
            "createdAt": self.created_at.isoformat(),
        }


class VersionTimeline:
    """The versions of one deck (platform or account) by effective time: which is in effect at t.

    At equal effective times the later import (higher id) wins."""

    def __init__(self, versions: list[tuple[datetime, int]]) -> None:
        ordered = sorted(versions)
        self._times = [at for at, _id in ordered]
        self._ids = [deck_id for _at, deck_id in ordered]

    def in_effect(self, at: datetime) -> int | None:
        index = bisect.bisect_right(self._times, at)
        return self._ids[index - 1] if index else None

    def from_(self, at: datetime) -> list[int]:
        """The version in effect at ``at`` and every later one: what calls from then on may use."""
        index = bisect.bisect_right(self._times, at)
        return self._ids[max(0, index - 1) :]


def in_effect(versions: list[DeckVersion], at: datetime) -> set[int]:
    """The ids of the versions in effect at ``at``: at most one per owner (the platform, each account)."""
    by_owner: dict[str | None, list[tuple[datetime, int]]] = {}
    for version in versions:
        by_owner.setdefault(version.account, []).append((version.effective_from, version.id))
    found = (VersionTimeline(owned).in_effect(at) for owned in by_owner.values())
    return {deck_id for deck_id in found if deck_id is not None}
