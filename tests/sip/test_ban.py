"""AuthFailureTracker: per-source windows and ban expiry (pure logic, fake clock)."""

from __future__ import annotations

from sipline.sip.ban import AuthFailureTracker, BanPolicy


def test_ban_after_failures_in_window_and_expiry() -> None:
    now = [1000.0]
    tracker = AuthFailureTracker(BanPolicy(max_failures=3, window=10, ban_seconds=60), clock=lambda: now[0])
    assert [tracker.record_failure("203.0.113.5") for _ in range(3)] == [False] * 3
    assert tracker.record_failure("198.51.100.1") is False  # other sources count separately
    assert tracker.record_failure("203.0.113.5") is True
    assert tracker.is_banned("203.0.113.5") and not tracker.is_banned("198.51.100.1")
    now[0] += 61
    assert not tracker.is_banned("203.0.113.5") and tracker.banned_sources() == []


def test_old_failures_fall_out_of_the_window() -> None:
    now = [0.0]
    tracker = AuthFailureTracker(BanPolicy(max_failures=2, window=10), clock=lambda: now[0])
    for _ in range(10):
        assert tracker.record_failure("192.0.2.9") is False
        now[0] += 6  # slower than 2 per 10 s: never banned
    assert not tracker.is_banned("192.0.2.9")


def test_tracked_sources_stay_bounded() -> None:
    now = [0.0]
    tracker = AuthFailureTracker(BanPolicy(max_failures=3, window=10), clock=lambda: now[0], max_sources=100)
    for i in range(1000):
        tracker.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert len(tracker._failures) <= 100
    now[0] += 11
    tracker.record_failure("192.0.2.1")
    assert list(tracker._failures) == ["192.0.2.1"]
