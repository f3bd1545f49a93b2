"""The pure rules of billing/: what a reservation pays for, its chunks, and destination limits."""

from decimal import Decimal

import pytest

from sipline.billing.limits import AccountLimits, prefixes
from sipline.billing.rating import BillingPeriod, Rate, charge
from sipline.billing.reservations import chunk_cost, seconds_paid
from sipline.domain.errors import ApiError


def rate(per_minute: str, period: str) -> Rate:
    return Rate("", Decimal(per_minute), BillingPeriod.parse(period))


@pytest.mark.parametrize(
    ("per_minute", "period", "money", "paid"),
    [
        ("0.60", "1+1", "0.03", 3),
        ("0.60", "1+1", "0.0349", 3),
        ("0.01", "60+60", "0.025", 120),
        ("0.01", "60+60", "0.0099", 0),
        ("0.06", "30+6", "0.0360", 36),
        # 0.08 a minute: one second costs 0.001333..., rounded once to 0.0013. The money of the first
        # period pays it although 0.0013 * 60 / 0.08 = 0.975 s: the rounding is counted.
        ("0.08", "1+1", "0.0013", 1),
        ("0.08", "1+1", "0.0027", 2),
    ],
)
def test_seconds_paid_is_the_longest_call_whose_rated_cost_fits(
    per_minute: str, period: str, money: str, paid: int
) -> None:
    the_rate = rate(per_minute, period)
    assert seconds_paid(the_rate, Decimal(money)) == paid
    if paid:
        assert charge(the_rate, paid, True).cost <= Decimal(money)
    step = the_rate.period.first if paid == 0 else the_rate.period.next
    assert charge(the_rate, paid + step, True).cost > Decimal(money)


def test_a_free_rate_pays_any_length() -> None:
    assert seconds_paid(rate("0", "1+1"), Decimal(0)) is None


def test_a_chunk_is_whole_billing_steps_covering_its_seconds() -> None:
    assert chunk_cost(rate("0.60", "1+1"), 10) == Decimal("0.10")  # ten 1 s steps
    assert chunk_cost(rate("0.60", "60+60"), 10) == Decimal("0.60")  # one whole minute
    assert chunk_cost(rate("0.60", "30+6"), 10) == Decimal("0.12")  # two 6 s steps


def test_denied_prefixes_win_and_allowed_only_restricts() -> None:
    limits = AccountLimits.of(deny=["1900"], allow_only=["1"])
    assert limits.barred("19005550100") == "calls to prefix 1900 are denied for this account"
    assert limits.barred("12025550100") is None
    assert (
        limits.barred("442079460000") == "the destination is not among the prefixes allowed for this account"
    )
    assert AccountLimits().barred("19005550100") is None


@pytest.mark.parametrize(
    "bad",
    [["19a"], [""], ["1" * 21], ["1"] * 1001, ["+"], ["١٢"]],  # Arabic-Indic digits are not ASCII
)
def test_prefix_lists_are_bounded_digits(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="prefix"):
        prefixes(bad)


def test_limits_are_bounded() -> None:
    for values in ({"max_concurrent": 0}, {"max_cps": 10_001}, {"max_concurrent": 100_001}):
        with pytest.raises(ApiError):
            AccountLimits.of(**values)  # type: ignore[arg-type]
    assert prefixes(["+44", "44", " 1900 "]) == ("44", "1900")
