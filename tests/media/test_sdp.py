"""The anchoring SDP reader and writer: what a leg's description says, and bad SDP as MediaError only."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from sipline.media import sdp
from sipline.media.port import Leg, MediaError, NoCommonCodec
from sipline.media.relay import EmbeddedMediaPlane
from tests.media.peers import Events, Peer, phone_sdp, platform_address

OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.5\r\ns=-\r\nc=IN IP4 127.0.0.5\r\nt=0 0\r\n"
    b"m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    b"m=audio 4000 RTP/AVP 8 0 96 18\r\nc=IN IP4 127.0.0.6\r\na=rtpmap:96 telephone-event/8000\r\n"
    b"a=fmtp:96 0-15\r\na=ptime:30\r\na=sendonly\r\n"
    b"m=audio 4100 RTP/AVP 0\r\n"
)


def test_reads_the_first_audio_stream_with_static_and_mapped_types() -> None:
    description = sdp.parse(OFFER)
    audio = description.audio
    assert description.audio_index == 1
    assert (audio.address, audio.port, audio.direction, audio.ptime) == ("127.0.0.6", 4000, "sendonly", 30)
    assert [(c.pt, c.name, c.rate) for c in audio.codecs] == [
        (8, "PCMA", 8000),
        (0, "PCMU", 8000),
        (96, "telephone-event", 8000),
        (18, "G729", 8000),
    ]
    assert audio.codecs[2].fmtp == "0-15"


def test_the_answer_rejects_every_other_stream_in_offer_order() -> None:
    description = sdp.parse(OFFER)
    codecs = description.audio.codecs[:1]
    answer = sdp.write("127.0.0.1", 20000, sdp.Origin(7, 2), codecs, "recvonly", answer_to=description)
    media = [line for line in answer.decode().splitlines() if line.startswith("m=")]
    assert media == ["m=video 0 RTP/AVP 96", "m=audio 20000 RTP/AVP 8", "m=audio 0 RTP/AVP 0"]
    assert "o=sipline 7 2 IN IP4 127.0.0.1" in answer.decode()
    assert "a=rtcp:20001" in answer.decode() and "a=recvonly" in answer.decode()


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"v=1\r\n",
        b"\xff\xfe",
        b"v=0\r\nm=audio\r\n",
        b"v=0\r\nm=audio 99999 RTP/AVP 0\r\n",
        b"v=0\r\nm=audio 4000 RTP/AVP 300\r\n",
        b"v=0\r\nm=audio 4000 RTP/AVP x\r\n",
        b"v=0\r\nc=IN\r\nm=audio 4000 RTP/AVP 0\r\n",
        b"v=0\r\nm=audio 4000 RTP/SAVP 0\r\n",  # SRTP only: nothing the relay can use
        b"v=0\r\nm=video 4000 RTP/AVP 96\r\n",
        b"v=0\r\n" + b"a=x\r\n" * 300,
        b"v=0\r\n" + b"m=audio 4000 RTP/AVP 0\r\n" * 20,
        b"v=0\r\nm=audio 4000 RTP/AVP " + b" ".join(b"%d" % n for n in range(40)) + b"\r\n",
        b"v=0\r\n" + b"x" * 20000,
    ],
)
def test_bad_sdp_is_a_media_error(bad: bytes) -> None:
    with pytest.raises(MediaError):
        sdp.parse(bad)


def test_random_mutations_raise_media_error_or_parse() -> None:
    rng = random.Random(4733)
    for _ in range(3000):
        data = bytearray(OFFER)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            data[position] = rng.choice(b"0123456789 :/=\r\nvmcaIP4x\xff")
        with contextlib.suppress(MediaError):  # anything else fails the test
            sdp.parse(bytes(data))


def test_malformed_attributes_are_ignored_and_their_payload_types_unused() -> None:
    text = (
        b"v=0\r\nm=audio 4000 RTP/AVP 96 0 97\r\na=rtpmap:96 x/abc\r\na=rtpmap:97\r\n"
        b"a=fmtp:\r\na=ptime:0\r\na=rtcp:x\r\na=rtpmap:999 PCMA/8000\r\n"
    )
    audio = sdp.parse(text).audio
    assert [c.name for c in audio.codecs] == ["PCMU"]
    assert audio.ptime is None and audio.rtcp_port is None


def test_a_host_name_or_unspecified_address_waits_for_latching() -> None:
    for address in (b"phone.example", b"0.0.0.0"):
        text = b"v=0\r\nc=IN IP4 " + address + b"\r\nm=audio 4000 RTP/AVP 0\r\n"
        assert sdp.parse(text).audio.address is None


async def test_other_codecs_pass_through_with_one_warning(
    plane: EmbeddedMediaPlane, caplog: pytest.LogCaptureFixture
) -> None:
    session = plane.allocate("g729", Events())
    try:
        answer = session.accept_offer(Leg.AGENT, phone_sdp(4000, formats="18 0 101")).decode()
        assert "m=audio" in answer and " 0 18 101" in answer  # G.711 first, G.729 kept
        offer = session.make_offer(Leg.CALLEE).decode()
        assert "a=rtpmap:18 G729/8000" in offer and "a=rtpmap:8 PCMA/8000" in offer
        session.accept_answer(Leg.CALLEE, phone_sdp(4002, formats="18"))
        warnings = [r for r in caplog.records if "G729" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        session.release()


async def test_an_offer_without_a_common_codec_is_refused(plane: EmbeddedMediaPlane) -> None:
    session = plane.allocate("nothing", Events())
    try:
        session.accept_offer(Leg.AGENT, phone_sdp(4000, formats="0"))
        session.make_offer(Leg.CALLEE)
        with pytest.raises(NoCommonCodec):
            session.accept_answer(Leg.CALLEE, phone_sdp(4002, formats="3"))
        with pytest.raises(NoCommonCodec):
            session.accept_offer(Leg.AGENT, phone_sdp(4000, formats="101"))
    finally:
        session.release()


async def test_an_ipv6_address_on_an_ipv4_relay_waits_for_latching(plane: EmbeddedMediaPlane) -> None:
    session = plane.allocate("v6", Events())
    callee = Peer()
    try:
        session.accept_offer(Leg.AGENT, b"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n")
        to_callee_side = platform_address(session.make_offer(Leg.CALLEE))
        session.accept_answer(Leg.CALLEE, phone_sdp(callee.port, formats="0"))
        callee.send_audio(to_callee_side, 0)
        await asyncio.sleep(0.05)
        stats = session.stats()
        assert stats.callee.packets_in == 1 and stats.agent.packets_out == 0  # nowhere to send yet
    finally:
        session.release()
        callee.close()
