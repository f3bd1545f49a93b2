"""The log and metrics settings: values refused with a message naming the setting."""

import pytest

from sipline.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("log_format", "xml", "log_format: Input should be 'text' or 'json'"),
        ("metrics_token", "short", "metrics_token: String should have at least 16 characters"),
        ("access_log", "sometimes", "access_log: Input should be a valid boolean"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str) -> None:
    monkeypatch.setenv(f"SIPLINE_{name.upper()}", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert problem in str(refused.value)
    assert name != "metrics_token" or value not in str(refused.value)


def test_command_line_log_format_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPLINE_LOG_FORMAT", "text")
    assert load_settings(log_format="json").log_format == "json"
    assert load_settings().log_format == "text"
