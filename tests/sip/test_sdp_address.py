"""Where a session description wants its audio: what the built-in peers send their RTP to."""

from __future__ import annotations

import pytest

from sipline.sip.sdp import audio_address, audio_session


def test_the_peers_own_description_reads_back() -> None:
    assert audio_address(audio_session("127.0.0.1", 4000)) == ("127.0.0.1", 4000)


@pytest.mark.parametrize(
    ("description", "address"),
    [
        (b"v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 4000 RTP/AVP 0\r\n", ("127.0.0.2", 4000)),
        (
            b"v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\n",
            ("127.0.0.3", 4000),
        ),
        (b"v=0\r\nm=video 5 RTP/AVP 0\r\nc=IN IP4 127.0.0.9\r\nm=audio 6 RTP/AVP 0\r\n", None),
        (b"v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 0 RTP/AVP 0\r\n", None),
        (b"v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 99999 RTP/AVP 0\r\n", None),
        (b"\xff\xfe", None),
        (b"", None),
    ],
)
def test_where_a_description_wants_its_audio(description: bytes, address: tuple[str, int] | None) -> None:
    assert audio_address(description) == address
