from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sipline.billing.rating import (
    BillingPeriod,
    Rate,
    RateDeck,
    affordable_seconds,
    charge,
    round_money,
    settle,
)
from sipline.domain.destination import destination_code
from sipline.domain.voice_id import format_voice_id, is_voice_id


@pytest.mark.parametrize(
    ("period", "duration", "answered", "charged"),
    [
        ("20+20", 0, False, 0),
        ("20+20", 35, False, 0),
        ("20+20", 0, True, 20),
        ("20+20", 1, True, 20),
        ("20+20", 20, True, 20),
        ("20+20", 21, True, 40),
        ("20+20", 40, True, 40),
        ("60+60", 61, True, 120),
        ("60+60", 5, True, 60),
        ("1+1", 37, True, 37),
        # every boundary of the usual periods (issue 11)
        ("20+20", 19, True, 20),
        ("60+60", 0, False, 0),
        ("60+60", 59, True, 60),
        ("60+60", 60, True, 60),
        ("30+6", 29, True, 30),
        ("30+6", 30, True, 30),
        ("30+6", 31, True, 36),
        ("30+6", 36, True, 36),
        ("30+6", 37, True, 42),
    ],
)
def test_charged_seconds(period: str, duration: int, answered: bool, charged: int) -> None:
    assert BillingPeriod.parse(period).charged_seconds(duration, answered) == charged


@pytest.mark.parametrize("bad", ["20", "20+", "+20", "0+20", "20+0", "a+b", "-1+20", ""])
def test_bad_billing_periods(bad: str) -> None:
    with pytest.raises(ValueError):
        BillingPeriod.parse(bad)


def test_cost_is_rounded_once_half_up() -> None:
    rate = Rate("93", Decimal("0.0123"), BillingPeriod(1, 1))
    # 0.0123 * 7 / 60 = 0.001435 exactly: half-up gives 0.0014 only if rounded once at the end.
    assert charge(rate, 7, True).cost == Decimal("0.0014")
    assert charge(Rate("1", Decimal("1.2"), BillingPeriod(20, 20)), 5, True).cost == Decimal("0.4000")
    assert charge(Rate("1", Decimal("0.00015"), BillingPeriod(60, 60)), 60, True).cost == Decimal("0.0002")
    assert round_money(Decimal("0.00005")) == Decimal("0.0001")


def test_longest_prefix_wins() -> None:
    deck = RateDeck(
        [
            Rate("9", Decimal("0.5"), BillingPeriod(60, 60)),
            Rate("93", Decimal("0.2"), BillingPeriod(20, 20)),
            Rate("9370", Decimal("0.3"), BillingPeriod(1, 1)),
        ]
    )
    assert deck.find("93701234567").prefix == "9370"  # type: ignore[union-attr]
    assert deck.find("93201234567").prefix == "93"  # type: ignore[union-attr]
    assert deck.find("91856321412").prefix == "9"  # type: ignore[union-attr]
    assert deck.find("4420") is None
    with pytest.raises(ValueError):
        RateDeck([Rate("9", Decimal(1), BillingPeriod(1, 1)), Rate("9", Decimal(2), BillingPeriod(1, 1))])


def test_settlement_matches_the_vendor_sample() -> None:
    settled = settle(Decimal("1.2"), Decimal("1.2"), Decimal("0.938"))
    assert settled.settle_rate == Decimal("1.2793")
    assert settled.settle_pay == Decimal("1.2793")


@pytest.mark.parametrize(
    ("callee", "code"),
    [
        ("93302123456", "Afghanistan(Kandahar)"),
        ("93202123456", "Afghanistan(Kabul)"),
        ("93701234567", "Afghanistan(AWCC)"),  # a mobile number: the carrier stands for the region
        ("12015550123", "United States(New Jersey)"),
        ("8613800138000", "China(Beijing)"),
        ("999999", "Unknown"),
        ("", "Unknown"),
    ],
)
def test_destination_codes(callee: str, code: str) -> None:
    assert destination_code(callee) == code


def test_voice_ids() -> None:
    at = datetime(2022, 3, 3, 19, 13, 38, tzinfo=timezone(timedelta(hours=8)))
    assert format_voice_id(at, 1000002) == "2203031113381000002"
    assert is_voice_id(format_voice_id(datetime.now(UTC), 12_345_678_901))
    assert not is_voice_id("22030311133810000a2")
    with pytest.raises(ValueError):
        format_voice_id(datetime(2022, 1, 1), 1)  # naive on purpose


def test_affordable_seconds_are_whole_billing_steps_the_money_pays() -> None:
    per_second = Rate("", Decimal("0.60"), BillingPeriod(1, 1))
    assert affordable_seconds(per_second, Decimal("0.03")) == 3
    by_minute = Rate("", Decimal("0.01"), BillingPeriod(60, 60))
    assert affordable_seconds(by_minute, Decimal("0.025")) == 120  # two whole minutes, not 150 s
    assert affordable_seconds(by_minute, Decimal("0.005")) == 0
    twenty = Rate("", Decimal("0.06"), BillingPeriod(20, 20))
    assert affordable_seconds(twenty, Decimal("0.05")) == 40  # 50 s paid, in 20 s steps
    assert affordable_seconds(Rate("", Decimal(0), BillingPeriod(60, 60)), Decimal(0)) is None
