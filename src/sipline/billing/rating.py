"""Rating of calls (after CGRateS): rate decks by longest prefix, billing periods, exact money.

The one rounding point of the platform is `round_money`: half-up to 4 decimals, applied once to
each final amount (cost, base cost, settlement), never to intermediate values.

A rate may carry a connect fee (CGRateS' ConnectFee): a fixed amount an answered call pays once, on
top of its charged time. It is added to the exact product before that one rounding, so
cost = round_money(connect_fee + rate * chargedDuration / 60); an unanswered call pays nothing.
"""

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MONEY_QUANTUM = Decimal("0.0001")


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def money_text(amount: Decimal) -> str:
    """An amount as the APIs show it: plain digits, no trailing zeros ("0.05", "12.5", "0")."""
    return format(amount.normalize(), "f")


@dataclass(frozen=True)
class BillingPeriod:
    """A billing period such as "20+20": an answered call bills at least `first` s, then `next`-s steps."""

    first: int
    next: int

    @classmethod
    def parse(cls, text: str) -> "BillingPeriod":
        first, plus, step = text.strip().partition("+")
        if not plus or not first.isdigit() or not step.isdigit() or int(first) < 1 or int(step) < 1:
            raise ValueError(f"billing period {text!r} is not of the form FIRST+NEXT (seconds, e.g. 20+20)")
        return cls(int(first), int(step))

    def __str__(self) -> str:
        return f"{self.first}+{self.next}"

    def charged_seconds(self, duration: int, answered: bool) -> int:
        if not answered:
            return 0
        if duration < 0:
            raise ValueError("a call cannot last a negative time")
        return self.first + math.ceil(max(0, duration - self.first) / self.next) * self.next


@dataclass(frozen=True)
class Rate:
    prefix: str  # digits; "" matches every number (a deck's catch-all)
    per_minute: Decimal
    period: BillingPeriod
    base_per_minute: Decimal | None = None  # the platform's list rate (baseCost); None: same as per_minute
    connect_fee: Decimal = Decimal(0)  # charged once when the call is answered
    destination: str = ""  # the deck's name for the prefix (shown, exported; never rated on)

    @property
    def base(self) -> Decimal:
        return self.per_minute if self.base_per_minute is None else self.base_per_minute

    def first_period_cost(self) -> Decimal:
        """What an answered call costs at least: the balance must cover it before a call is placed."""
        return round_money(self.connect_fee + self.per_minute * self.period.first / 60)


@dataclass(frozen=True)
class Charge:
    charged_seconds: int
    cost: Decimal


def charge(rate: Rate, duration: int, answered: bool) -> Charge:
    seconds = rate.period.charged_seconds(duration, answered)
    if not answered:
        return Charge(0, round_money(Decimal(0)))
    return Charge(seconds, round_money(rate.connect_fee + rate.per_minute * seconds / 60))


def affordable_seconds(rate: Rate, money: Decimal) -> int | None:
    """The longest call ``money`` pays in full at ``rate`` (whole billing steps); None if free.

    An answered call is cut when it reaches this, so that it never costs more than the money there was.
    """
    if rate.per_minute <= 0:
        return None if money >= rate.connect_fee else 0
    paid = int((money - rate.connect_fee) * 60 / rate.per_minute)  # charged seconds the money covers
    first, step = rate.period.first, rate.period.next
    if paid < first:
        return 0
    return first + (paid - first) // step * step


def base_cost(rate: Rate, charged_seconds: int) -> Decimal:
    """The same charged time at the platform's list rate (the record's baseCost), connect fee included
    (an answered call, ``charged_seconds`` > 0, pays it at either price)."""
    fee = rate.connect_fee if charged_seconds > 0 else Decimal(0)
    return round_money(fee + rate.base * charged_seconds / 60)


class RateDeck:
    """Destination prefixes (digits) to rates; the longest matching prefix wins."""

    def __init__(self, rates: list[Rate]) -> None:
        self._by_prefix: dict[str, Rate] = {}
        for rate in rates:
            if rate.prefix and not rate.prefix.isdigit():
                raise ValueError(f"rate prefix {rate.prefix!r} must be digits (or empty: every number)")
            if rate.per_minute < 0:
                raise ValueError(f"rate for {rate.prefix} must not be negative")
            if rate.prefix in self._by_prefix:
                raise ValueError(f"prefix {rate.prefix} appears twice")
            self._by_prefix[rate.prefix] = rate
        # Only the prefix lengths the deck has, longest first: a 50,000-prefix deck has a handful.
        self._lengths = sorted({len(p) for p in self._by_prefix if p}, reverse=True)
        self._catch_all = self._by_prefix.get("")

    def __len__(self) -> int:
        return len(self._by_prefix)

    def rates(self) -> list[Rate]:
        """Every rate, by prefix (the order an export writes)."""
        return [self._by_prefix[prefix] for prefix in sorted(self._by_prefix)]

    def find(self, number: str) -> Rate | None:
        by_prefix = self._by_prefix
        size = len(number)
        for length in self._lengths:
            if length <= size:
                rate = by_prefix.get(number[:length])
                if rate is not None:
                    return rate
        return self._catch_all


@dataclass(frozen=True)
class Settlement:
    """Amounts in the customer's quote currency, for accounts that do not quote in USD."""

    settle_rate: Decimal
    settle_pay: Decimal


def settle(rate_per_minute: Decimal, cost: Decimal, quote_exchange: Decimal) -> Settlement:
    """settleRate = rate / quoteExchange, settlePay = cost / quoteExchange (1.2 / 0.938 = 1.2793)."""
    if quote_exchange <= 0:
        raise ValueError("quote exchange must be positive")
    return Settlement(round_money(rate_per_minute / quote_exchange), round_money(cost / quote_exchange))
