"""Property tests of the pure rating (hypothesis): billing period boundaries, monotonic cost, the one
rounding point (connect fee included), and the settlement of the vendor's sample."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sipline.billing.rating import BillingPeriod, Rate, RateDeck, base_cost, charge, round_money, settle

untimed = settings(deadline=None)  # no time limit per example: a loaded machine is slow
money = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
periods = st.builds(BillingPeriod, st.integers(1, 3600), st.integers(1, 3600))
durations = st.integers(0, 86_400)


def rate(per_minute: Decimal, period: BillingPeriod, fee: Decimal = Decimal(0)) -> Rate:
    return Rate("", per_minute, period, None, fee)


@untimed
@given(periods, durations)
def test_charged_duration_is_whole_steps_covering_the_call(period: BillingPeriod, duration: int) -> None:
    charged = period.charged_seconds(duration, True)
    assert charged >= max(duration, period.first)
    assert (charged - period.first) % period.next == 0
    assert charged - period.next < max(duration, period.first)  # not one step more than needed
    assert period.charged_seconds(duration, False) == 0


@untimed
@given(money, periods, money, durations, durations)
def test_cost_is_monotonic_in_duration(
    per_minute: Decimal, period: BillingPeriod, fee: Decimal, one: int, other: int
) -> None:
    priced = rate(per_minute, period, fee)
    shorter, longer = sorted((one, other))
    assert charge(priced, shorter, True).cost <= charge(priced, longer, True).cost


@untimed
@given(money, periods, money, durations)
def test_one_rounding_point(per_minute: Decimal, period: BillingPeriod, fee: Decimal, duration: int) -> None:
    """cost = round_money(connect fee + rate * chargedDuration / 60), exactly: nothing rounded before."""
    priced = rate(per_minute, period, fee)
    result = charge(priced, duration, True)
    exact = fee + per_minute * Decimal(result.charged_seconds) / Decimal(60)
    assert result.cost == round_money(exact)
    assert abs(result.cost - exact) <= Decimal("0.00005")
    assert base_cost(priced, result.charged_seconds) == result.cost  # no list rate: the same price


@untimed
@given(money, periods, money, durations)
def test_an_unanswered_call_pays_nothing_not_even_the_connect_fee(
    per_minute: Decimal, period: BillingPeriod, fee: Decimal, duration: int
) -> None:
    result = charge(rate(per_minute, period, fee), duration, False)
    assert (result.charged_seconds, result.cost) == (0, Decimal(0))
    assert base_cost(rate(per_minute, period, fee), 0) == Decimal(0)


def test_the_connect_fee_is_added_before_the_one_rounding() -> None:
    # 0.0123 * 7 / 60 + 0.00004 = 0.001475 exactly: 0.0015 rounded once, at the end; rounding the
    # time's price first (0.0014) and then adding the fee would give 0.0014.
    per_second = Rate("", Decimal("0.0123"), BillingPeriod(1, 1), None, Decimal("0.00004"))
    assert charge(per_second, 7, True).cost == Decimal("0.0015")
    with_fee = Rate("", Decimal("0.06"), BillingPeriod(30, 6), Decimal("0.09"), Decimal("0.01"))
    assert charge(with_fee, 31, True).cost == Decimal("0.0460")  # 0.01 + 0.06 * 36 / 60
    assert base_cost(with_fee, 36) == Decimal("0.0640")  # 0.01 + 0.09 * 36 / 60
    assert with_fee.first_period_cost() == Decimal("0.0400")  # what sendSip reserves: fee + 30 s


@untimed
@given(st.decimals(min_value=Decimal("0.001"), max_value=10, places=3), money)
def test_settlement_divides_by_the_quote_exchange_rounded_once(exchange: Decimal, cost: Decimal) -> None:
    settled = settle(Decimal("1.2"), cost, exchange)
    assert settled.settle_rate == round_money(Decimal("1.2") / exchange)
    assert settled.settle_pay == round_money(cost / exchange)


def test_settlement_of_the_seed_sample() -> None:
    settled = settle(Decimal("1.2"), Decimal("1.2"), Decimal("0.938"))
    assert (settled.settle_rate, settled.settle_pay) == (Decimal("1.2793"), Decimal("1.2793"))


digits = st.text("0123456789", max_size=8)


@untimed
@given(st.sets(digits, max_size=40), st.text("0123456789", max_size=15))
def test_the_longest_matching_prefix_wins(prefixes: set[str], number: str) -> None:
    deck = RateDeck([Rate(prefix, Decimal(1), BillingPeriod(1, 1)) for prefix in prefixes])
    matching = [prefix for prefix in prefixes if number.startswith(prefix)]
    found = deck.find(number)
    assert (found.prefix if found else None) == (max(matching, key=len) if matching else None)
