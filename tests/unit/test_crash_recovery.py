"""What a restarted node makes of a call a crash cut off: ended at its last known activity, rated and
paid like any call up to there (pure: no database, no SIP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sipline.billing.rating import BillingPeriod, Rate
from sipline.calls.journal import InterruptedCall
from sipline.domain import calls

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RATE = Rate("44", Decimal("0.02"), BillingPeriod(20, 20), base_per_minute=Decimal("0.01"))


def interrupted(**fields: object) -> InterruptedCall:
    values: dict[str, object] = {
        "voice_id": "2612011200000000001",
        "account_id": 1,
        "reserved": Decimal("0.0267"),  # the first 20 s and three extensions of 20 s
        "rate": RATE,
        "currency": "USD",
        "quote_exchange": None,
        "answer_time": T0,
        "last_known": T0 + timedelta(seconds=75.9),
    }
    values.update(fields)
    return InterruptedCall(**values)  # type: ignore[arg-type]


def test_the_last_known_moment_is_the_latest_of_the_known_ones() -> None:
    later = T0 + timedelta(seconds=3)
    assert calls.last_known(T0, None, later, None) == later
    assert calls.last_known(later, T0) == later
    assert calls.last_known(None, None) is None


def test_an_answered_call_is_charged_up_to_its_last_activity() -> None:
    settlement = interrupted().settlement(now=T0 + timedelta(hours=1))
    fields = settlement.fields
    assert fields["hangup_time"] == T0 + timedelta(seconds=75.9)  # not the restart's time
    assert fields["call_duration"] == 75  # whole seconds, like any call
    assert fields["charged_duration"] == 80  # 20+20: 20, then steps of 20
    assert fields["cost"] == Decimal("0.0267") and settlement.cost == Decimal("0.0267")  # 0.02 * 80 / 60
    assert fields["base_cost"] == Decimal("0.0133")  # the list rate, 0.01 * 80 / 60
    assert (fields["termination_code"], fields["termination_reason"]) == ("200", calls.INTERRUPTED)
    assert settlement.reserved == Decimal("0.0267")  # given back by the settlement
    assert "settle_rate" not in fields  # USD


def test_a_call_is_never_charged_beyond_what_it_had_reserved() -> None:
    """Its reservation is extended ahead of the call, so only a call whose extension was lost with
    the crash can show more activity than it paid for: charged what it paid, 40 s, not 80."""
    fields = interrupted(reserved=Decimal("0.0134")).settlement(now=T0 + timedelta(hours=1)).fields
    charged = (fields["call_duration"], fields["charged_duration"], fields["cost"])
    assert charged == (40, 40, Decimal("0.0133"))


def test_a_call_cut_off_before_the_answer_costs_nothing() -> None:
    ringing = T0 + timedelta(seconds=4)
    fields = interrupted(answer_time=None, last_known=ringing).settlement(now=T0 + timedelta(hours=1)).fields
    assert fields["hangup_time"] == ringing
    assert (fields["call_duration"], fields["charged_duration"], fields["cost"]) == (0, 0, Decimal(0))
    assert fields["termination_code"] == "500" and fields["termination_reason"] == calls.INTERRUPTED


def test_a_record_without_usable_terms_is_closed_without_charge() -> None:
    fields = interrupted(rate=None).settlement(now=T0).fields
    assert fields["call_duration"] == 75 and fields["cost"] == Decimal(0)


def test_an_account_quoting_another_currency_gets_its_settlement_fields() -> None:
    fields = interrupted(currency="EUR", quote_exchange=Decimal("0.938")).settlement(now=T0).fields
    assert fields["settle_rate"] == Decimal("0.0213")  # 0.02 / 0.938
    assert fields["settle_pay"] == Decimal("0.0285")  # 0.0267 / 0.938
