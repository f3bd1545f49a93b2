"""The trunk reachability rule (domain/trunk_health.py): up on any answer, down after N failures in a
row, unknown until either; what each state keeps of the last answer."""

from datetime import UTC, datetime, timedelta

import pytest

from sipline.config import ConfigError, load_settings
from sipline.domain.trunk_health import Ping, PingFailure, TrunkHealth, TrunkState

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def pings(*outcomes: int | PingFailure, every: float = 30) -> list[Ping]:
    made = []
    for number, outcome in enumerate(outcomes):
        sent = T0 + timedelta(seconds=number * every)
        if isinstance(outcome, PingFailure):
            made.append(Ping.failed(sent, outcome))
        else:
            made.append(Ping.answered(sent, outcome, 0.012))
    return made


def after(*outcomes: int | PingFailure, down_after: int = 3) -> TrunkHealth:
    health = TrunkHealth()
    for ping in pings(*outcomes):
        health = health.after(ping, down_after)
    return health


def test_a_trunk_is_unknown_until_it_answers_or_fails_enough() -> None:
    assert TrunkHealth().state is TrunkState.UNKNOWN
    one = after(PingFailure.TIMEOUT)
    assert (one.state, one.failures, one.last_failure) == (TrunkState.UNKNOWN, 1, PingFailure.TIMEOUT)
    assert one.last_sent == T0 and one.last_answered is None and one.last_status is None


@pytest.mark.parametrize("status", [200, 401, 403, 404, 405, 407, 486, 500, 503, 603])
def test_any_answer_of_the_trunk_makes_it_up(status: int) -> None:
    health = after(status)
    assert (health.state, health.last_status, health.failures) == (TrunkState.UP, status, 0)
    assert health.rtt == 0.012 and health.rtt_ms == 12.0
    assert health.last_answered == T0 + timedelta(seconds=0.012)


def test_down_after_n_failures_in_a_row_keeping_the_last_answer() -> None:
    two = after(200, PingFailure.TIMEOUT, PingFailure.UNREACHABLE)
    assert (two.state, two.failures) == (TrunkState.UP, 2)  # not yet: 3 in a row make it down
    down = after(200, PingFailure.TIMEOUT, PingFailure.UNREACHABLE, PingFailure.TIMEOUT)
    assert (down.state, down.failures, down.last_failure) == (TrunkState.DOWN, 3, PingFailure.TIMEOUT)
    assert down.last_status == 200 and down.last_answered == T0 + timedelta(seconds=0.012)
    assert down.last_sent == T0 + timedelta(seconds=90)


def test_an_answer_ends_a_run_of_failures_and_the_trunk_is_up_again() -> None:
    back = after(PingFailure.TIMEOUT, PingFailure.TIMEOUT, PingFailure.TIMEOUT, 404)
    assert (back.state, back.failures, back.last_failure, back.last_status) == (TrunkState.UP, 0, None, 404)
    interrupted = after(
        PingFailure.TIMEOUT, PingFailure.TIMEOUT, 200, PingFailure.TIMEOUT, PingFailure.TIMEOUT
    )
    assert (interrupted.state, interrupted.failures) == (TrunkState.UP, 2)


def test_one_failure_is_enough_when_configured_so() -> None:
    assert after(200, PingFailure.UNRESOLVED, down_after=1).state is TrunkState.DOWN
    with pytest.raises(ValueError, match="down_after"):
        TrunkHealth().after(pings(200)[0], 0)


def test_a_ping_is_an_answer_or_a_failure_never_both_nor_a_provisional() -> None:
    with pytest.raises(ValueError, match="either"):
        Ping(T0)
    with pytest.raises(ValueError, match="either"):
        Ping(T0, status=200, failure=PingFailure.TIMEOUT)
    with pytest.raises(ValueError, match="final"):
        Ping.answered(T0, 180, 0.1)
    assert Ping.answered(T0, 200, -0.5).rtt == 0.0  # a clock step never gives a negative round trip


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("trunk_ping_interval", 4.9),
        ("trunk_ping_interval", 0.5),
        ("trunk_ping_interval", -1),
        ("trunk_ping_interval", 3601),
        ("trunk_ping_timeout", 0.5),
        ("trunk_ping_timeout", 33),
        ("trunk_down_after", 0),
        ("trunk_down_after", 101),
        ("health_sample_interval", 0.5),
        ("health_sample_history", 1),
        ("health_sample_history", 100_001),
    ],
)
def test_the_ping_and_sample_settings_are_bounded(setting: str, value: float) -> None:
    with pytest.raises(ConfigError, match=setting):
        load_settings(**{setting: value})
    defaults = load_settings()
    assert (defaults.trunk_ping_interval, defaults.trunk_ping_timeout, defaults.trunk_down_after) == (
        30,
        5,
        3,
    )
    assert (defaults.health_sample_interval, defaults.health_sample_history) == (10, 360)
