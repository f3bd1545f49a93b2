import re
from pathlib import Path

import pytest

from sipline.config import ConfigError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIPLINE_HTTP_PORT", "SIPLINE_DATA_DIR", "SIPLINE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.host, settings.http_port, settings.sip_port, settings.timestamp_window) == (
        "127.0.0.1",
        8080,
        5060,
        300,
    )
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("sipline-data/sipline.db")


def test_command_line_beats_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sipline.toml"
    config.write_text('http_port = 9001\nsip_port = 5070\ntimestamp_window = 60\nhost = "127.0.0.2"\n')
    monkeypatch.setenv("SIPLINE_HTTP_PORT", "9002")
    monkeypatch.setenv("SIPLINE_SIP_PORT", "5080")
    settings = load_settings(config, sip_port=5090, host=None)
    assert settings.http_port == 9002  # environment over file
    assert settings.sip_port == 5090  # command line over environment
    assert settings.timestamp_window == 60  # file over default
    assert settings.host == "127.0.0.2"  # None on the command line means "not given"


def test_file_may_use_a_sipline_table(tmp_path: Path) -> None:
    config = tmp_path / "sipline.toml"
    config.write_text("[sipline]\ndefault_phone_limit = 7\n")
    assert load_settings(config).default_phone_limit == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("http_port = 70000\n", "http_port"),
        ("nonsense_key = 1\n", "nonsense_key"),
        ("http_port = [\n", "cannot read"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "sipline.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_bad_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPLINE_HTTP_PORT", "eighty")
    with pytest.raises(ConfigError, match="http_port"):
        load_settings()


def test_digest_algorithms_default_to_one_md5_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    from sipline.sip.digest import DEFAULT_CHALLENGE_ALGORITHMS

    monkeypatch.delenv("SIPLINE_DIGEST_ALGORITHMS", raising=False)
    assert load_settings().digest_algorithms == DEFAULT_CHALLENGE_ALGORITHMS == ("MD5",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MD5,SHA-256", ("MD5", "SHA-256")),
        (" sha-256 , md5 ", ("SHA-256", "MD5")),
        ('["SHA-256"]', ("SHA-256",)),
    ],
)
def test_digest_algorithms_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[str, ...]
) -> None:
    monkeypatch.setenv("SIPLINE_DIGEST_ALGORITHMS", value)
    assert load_settings().digest_algorithms == expected


def test_digest_algorithms_from_a_file_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIPLINE_DIGEST_ALGORITHMS", raising=False)
    config = tmp_path / "sipline.toml"
    config.write_text('digest_algorithms = ["SHA-256", "MD5"]\n')
    assert load_settings(config).digest_algorithms == ("SHA-256", "MD5")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "at least one digest algorithm"),
        ("[]", "at least one digest algorithm"),
        ("SHA-512-256", "unknown digest algorithm 'SHA-512-256': use MD5 and/or SHA-256"),
        ("MD5-sess", "unknown digest algorithm 'MD5-SESS'"),
        ("MD5,SHA-256,md5", "names MD5 twice"),
        ('["MD5",', "not a JSON list"),
    ],
)
def test_bad_digest_algorithms_name_the_problem(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SIPLINE_DIGEST_ALGORITHMS", value)
    with pytest.raises(ConfigError, match=r"digest_algorithms: .*" + re.escape(message)):
        load_settings()


@pytest.mark.parametrize("seconds", ["19", "121"])
def test_the_callee_rings_20_to_120_seconds(monkeypatch: pytest.MonkeyPatch, seconds: str) -> None:
    monkeypatch.delenv("SIPLINE_CALLEE_RING_TIMEOUT", raising=False)
    assert load_settings().callee_ring_timeout == 60  # like the vendor's maxRingingTime
    monkeypatch.setenv("SIPLINE_CALLEE_RING_TIMEOUT", "120")
    assert load_settings().callee_ring_timeout == 120
    monkeypatch.setenv("SIPLINE_CALLEE_RING_TIMEOUT", seconds)
    with pytest.raises(ConfigError, match="callee_ring_timeout"):
        load_settings()
