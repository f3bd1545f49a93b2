"""The SDP the load generator's legs offer and answer with, and the port a reply names."""

from __future__ import annotations

import re

from bench.media.ng import Bencodable


def offer_sdp(port: int, session: int) -> bytes:
    """PCMU (and telephone-event) at 20 ms from 127.0.0.1:`port`."""
    return (
        f"v=0\r\no=- {1000 + session} 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ).encode()


def audio_port(sdp: Bencodable) -> int:
    """The port of the first audio media line of `sdp`."""
    if not isinstance(sdp, bytes) or not (found := re.search(rb"^m=audio (\d+) ", sdp, re.MULTILINE)):
        raise RuntimeError(f"no audio media line in {sdp!r}")
    port = int(found.group(1))
    if not 0 < port < 65536:
        raise RuntimeError(f"port {port} out of range")
    return port
