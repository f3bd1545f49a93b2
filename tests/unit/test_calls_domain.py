"""Pure call rules: sendSip's inputs, DTMF in SIP INFO, durations, trunks and their number rewriting, SDP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sipline.billing.rating import BillingPeriod, Rate, RateDeck
from sipline.config import ConfigError, load_settings
from sipline.domain import calls
from sipline.domain.trunks import CallerIdMode, Trunk, TrunkRoutes, parse_trunk_uri
from sipline.sip.sdp import SdpError, audio_session, rejecting_answer


@pytest.mark.parametrize(("raw", "kept"), [("932111111111", "932111111111"), ("+4420794690", "4420794690")])
def test_callee_accepts_digits_with_an_optional_plus(raw: str, kept: str) -> None:
    assert calls.callee(raw) == kept


@pytest.mark.parametrize("raw", ["", "12", "+", "44 20", "44-20", "４４２０７９", "1" * 21, "++4420"])
def test_callee_refuses_what_is_not_a_number(raw: str) -> None:
    with pytest.raises(ValueError):
        calls.callee(raw)


def test_called_info_is_at_most_1000_characters() -> None:
    assert calls.called_info("x" * 1000) == "x" * 1000
    with pytest.raises(ValueError, match="1000"):
        calls.called_info("x" * 1001)


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("Signal=5\r\nDuration=160\r\n", "5"),
        ("signal= #\n", "#"),
        ("Signal=a", "A"),
        ("Signal=55", None),
        ("", None),
    ],
)
def test_dtmf_digit_of_an_info_body(body: str, digit: str | None) -> None:
    assert calls.dtmf_digit(body) == digit


def test_call_duration_is_whole_seconds_from_answer_and_zero_unanswered() -> None:
    answer = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert calls.call_duration(answer, answer + timedelta(seconds=61, milliseconds=900)) == 61
    assert calls.call_duration(None, answer) == 0
    assert calls.call_duration(answer, None) == 0


def test_trunk_uri_with_every_option() -> None:
    trunk = parse_trunk_uri(
        "carrier",
        "sip:user%40x:p%3Bss@gw.example.com:5080;transport=TCP;prefix=00;strip=1;realm=r;caller_id=pai",
    )
    assert (trunk.host, trunk.port, trunk.transport) == ("gw.example.com", 5080, "tcp")
    assert (trunk.username, trunk.password, trunk.realm) == ("user@x", "p;ss", "r")
    assert trunk.caller_id is CallerIdMode.PAI
    assert trunk.dialled_number("14155550100") == "004155550100"
    assert "p;ss" not in repr(trunk)  # never in logs
    table = load_settings(
        trunks={"t": {"host": "h", "username": "u", "password": "hunter2"}}, default_trunk="t"
    )
    assert "hunter2" not in repr(table)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("gw.example.com", "must start with sip:"),
        ("sip:gw.example.com;colour=red", "unknown parameters colour"),
        ("sip:gw.example.com;transport=sctp", "transport"),
        ("sip:gw.example.com:99999", "port"),
        ("sip:gw.example.com;strip=x", "trunk carrier"),
        ("sip:gw.example.com;prefix=0a", "prefix"),
        ("sip:gw.example.com;caller_id=header", "trunk carrier"),
    ],
)
def test_bad_trunk_uris_name_the_trunk_and_the_problem(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        parse_trunk_uri("carrier", uri)
    assert str(raised.value).startswith("trunk carrier:")


def test_an_app_takes_its_own_trunk_else_the_default() -> None:
    a, b = Trunk("a", "10.0.0.1"), Trunk("b", "10.0.0.2")
    routes = TrunkRoutes("a", {"app2": "b"}, {"a": a, "b": b})
    assert routes.for_app("app1") is a and routes.for_app("app2") is b
    assert TrunkRoutes("missing", {}, {}).for_app("app1") is None


def test_configuration_refuses_a_route_to_an_undefined_trunk() -> None:
    with pytest.raises(ConfigError, match="'nowhere' is used but not defined"):
        load_settings(default_trunk="nowhere")
    with pytest.raises(ConfigError, match="trunk t"):
        load_settings(trunks={"t": "sip:host;transport=carrier-pigeon"}, default_trunk="t")
    settings = load_settings(trunks={"t": {"host": "10.0.0.9", "prefix": "9"}}, app_trunks={"app1": "t"})
    assert settings.trunk_table()["t"].dialled_number("123") == "9123" and settings.uses_sandbox


def test_a_catch_all_rate_prices_numbers_no_prefix_matches() -> None:
    deck = RateDeck(
        [Rate("", rate("0.02"), BillingPeriod(60, 60)), Rate("44", rate("0.01"), BillingPeriod(1, 1))]
    )
    assert deck.find("442079469001").prefix == "44"  # type: ignore[union-attr]
    assert deck.find("93702123456").prefix == ""  # type: ignore[union-attr]
    assert deck.find("93702123456").first_period_cost() == rate("0.02")  # type: ignore[union-attr]


def rate(text: str) -> Decimal:
    return Decimal(text)


def test_sdp_answer_takes_the_first_audio_stream_and_rejects_the_rest() -> None:
    offer = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 0 8\r\nm=video 4002 RTP/AVP 96\r\n"
    )
    answer = audio_session("127.0.0.1", 5000, answer_to=offer).decode()
    assert "m=audio 5000 RTP/AVP 0 101" in answer and "m=video 0 RTP/AVP 96" in answer
    rejected = rejecting_answer(offer).decode()
    assert "m=audio 0 RTP/AVP 0" in rejected and "m=video 0 RTP/AVP 96" in rejected
    for bad in (b"", b"hello", b"v=0\r\ns=-\r\n", b"\xff\xfe"):
        with pytest.raises(SdpError):
            rejecting_answer(bad)
