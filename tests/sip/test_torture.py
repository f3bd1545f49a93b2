"""RFC 4475 torture messages: valid ones parse with the right fields, invalid ones raise SipParseError."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse, parse_message
from tests.peers import shared_input

CORPUS = shared_input("rfc4475")

# Rejected by the parser itself (the UAS answers 400, or 505 for badvers; responses are dropped).
REJECTED = {
    "badinv01",
    "clerr",
    "ncl",
    "scalar02",
    "scalarlg",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "regbadct",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "insuf",
    "multi01",
    "mcl01",
}
# Everything else parses; semantic answers (416, 420, 415, 406, 483, ...) belong to the upper layers.


def _files() -> list[Path]:
    return sorted(CORPUS.glob("*.dat"))


def parse_fully(data: bytes) -> SipRequest | SipResponse:
    message = parse_message(data)
    message.validate()
    message.contacts  # noqa: B018 - Contact is parsed on demand; touch it as the registrar would
    return message


def test_corpus_is_complete() -> None:
    assert len(_files()) == 49


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_torture_message(path: Path) -> None:
    data = path.read_bytes()
    if path.stem in REJECTED:
        with pytest.raises(SipParseError) as excinfo:
            parse_fully(data)
        assert excinfo.value.status == (505 if path.stem == "badvers" else 400)
    else:
        message = parse_fully(data)
        assert message.call_id
        assert message.cseq.number >= 0
        assert message.top_via.host


def test_wsinv_fields() -> None:
    msg = parse_fully((CORPUS / "wsinv.dat").read_bytes())
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE"
    assert msg.request_uri.host == "chair-dnrc.example.com"
    assert msg.to.tag == "1918181833n"
    assert msg.from_.tag == "98asjd8"
    assert msg.from_.display_name == '"J Rosenberg \\\\\\""'
    assert msg.max_forwards == 68
    assert msg.cseq.number == 9 and msg.cseq.method == "INVITE"
    assert [(v.transport, v.host, v.branch) for v in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.header("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.header("Subject") == ""
    assert msg.contacts[0].params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(msg.body) == 150 and msg.body.startswith(b"v=0")


def test_dblreq_parses_first_message_only() -> None:
    msg = parse_fully((CORPUS / "dblreq.dat").read_bytes())
    assert isinstance(msg, SipRequest) and msg.method == "REGISTER" and msg.body == b""


def test_intmeth_unusual_method_and_uri() -> None:
    msg = parse_fully((CORPUS / "intmeth.dat").read_bytes())
    assert isinstance(msg, SipRequest)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.request_uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.request_uri.host == "example.com"


def test_transports_and_escapes() -> None:
    msg = parse_fully((CORPUS / "transports.dat").read_bytes())
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    esc = parse_fully((CORPUS / "esc02.dat").read_bytes())
    assert isinstance(esc, SipRequest) and esc.method == "RE%47IST%45R"
    assert [c.uri.host for c in esc.contacts] == ["host1.example.com", "host3.example.com"]


def test_responses_and_other_schemes() -> None:
    noreason = parse_fully((CORPUS / "noreason.dat").read_bytes())
    assert isinstance(noreason, SipResponse) and noreason.status == 100 and noreason.reason == ""
    unreason = parse_fully((CORPUS / "unreason.dat").read_bytes())
    assert isinstance(unreason, SipResponse) and unreason.status == 200
    unkscm = parse_fully((CORPUS / "unkscm.dat").read_bytes())
    assert isinstance(unkscm, SipRequest) and not unkscm.request_uri.is_sip
    inv2543 = parse_fully((CORPUS / "inv2543.dat").read_bytes())
    assert inv2543.top_via.branch is None and inv2543.to.params == {"user": "phone"}


def test_stream_needs_content_length() -> None:
    data = (CORPUS / "inv2543.dat").read_bytes()
    with pytest.raises(SipParseError):
        parse_message(data, stream=True)
