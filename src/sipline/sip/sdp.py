"""Just enough SDP (RFC 4566 / RFC 3264) for signalling: make a simple offer or answer, reject one.

A call's own descriptions are the media plane's (``media/sdp.py``). This module writes the rest: an
answer that rejects every stream (to end a leg politely), the sandbox carrier's and virtual phone's
audio, and where a description wants its audio (``audio_address``, for the peers' RTP).
"""

from __future__ import annotations

import secrets

SDP = "application/sdp"
PCMU, TELEPHONE_EVENT = 0, 101


class SdpError(ValueError):
    """Not a session description we can read."""


def _media_lines(offer: bytes) -> list[str]:
    try:
        text = offer.decode("utf-8")
    except UnicodeDecodeError:
        raise SdpError("SDP is not UTF-8") from None
    lines = [line.strip() for line in text.splitlines()]
    if not lines or lines[0] != "v=0":
        raise SdpError("SDP must start with v=0")
    media = [line for line in lines if line.startswith("m=")]
    if not media:
        raise SdpError("SDP has no m= line")
    return media


def audio_session(
    host: str, port: int, *, session_id: int | None = None, answer_to: bytes | None = None
) -> bytes:
    """A PCMU + telephone-event audio description at ``host:port``.

    As an answer (``answer_to``), streams other than the first audio one are rejected (port 0),
    as RFC 3264 §6 wants one m= line per offered one.
    """
    session = session_id if session_id is not None else secrets.randbelow(2**31)
    ip = "IP6" if ":" in host else "IP4"
    lines = [
        "v=0",
        f"o=sipline {session} {session} IN {ip} {host}",
        "s=sipline",
        f"c=IN {ip} {host}",
        "t=0 0",
    ]
    offered = _media_lines(answer_to) if answer_to is not None else ["m=audio"]
    audio_done = False
    for media in offered:
        fields = media[2:].split()
        if fields and fields[0] == "audio" and not audio_done:
            audio_done = True
            lines += [
                f"m=audio {port} RTP/AVP {PCMU} {TELEPHONE_EVENT}",
                f"a=rtpmap:{PCMU} PCMU/8000",
                f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000",
                f"a=fmtp:{TELEPHONE_EVENT} 0-16",
                "a=sendrecv",
            ]
        else:
            lines.append(_rejected(fields))
    return ("\r\n".join(lines) + "\r\n").encode()


def audio_address(description: bytes) -> tuple[str, int] | None:
    """Where the first audio stream of ``description`` wants its RTP (its own c= line, else the
    session's), None when it names none or is unreadable."""
    try:
        lines = [line.strip() for line in description.decode("utf-8").splitlines()]
    except UnicodeDecodeError:
        return None
    host: str | None = None  # the session's, then the audio stream's own
    port: int | None = None
    in_session_or_audio = True  # c= lines of other streams name their own addresses
    for line in lines:
        fields = line[2:].split()
        if line.startswith("m="):
            if port is not None:
                break  # past the first audio stream
            in_session_or_audio = len(fields) > 1 and fields[0] == "audio" and fields[1].isdigit()
            if in_session_or_audio:
                port = int(fields[1])
        elif line.startswith("c=") and len(fields) == 3 and in_session_or_audio:
            host = fields[2]
    if host is None or port is None or not 0 < port < 65536:
        return None
    return host, port


def rejecting_answer(offer: bytes) -> bytes:
    """An answer declining every offered stream (port 0): ends an offer/answer exchange cleanly."""
    lines = ["v=0", "o=sipline 0 0 IN IP4 0.0.0.0", "s=-", "c=IN IP4 0.0.0.0", "t=0 0"]
    lines += [_rejected(media[2:].split()) for media in _media_lines(offer)]
    return ("\r\n".join(lines) + "\r\n").encode()


def _rejected(fields: list[str]) -> str:
    kind = fields[0] if fields else "audio"
    proto = fields[2] if len(fields) > 2 else "RTP/AVP"
    fmt = fields[3] if len(fields) > 3 else "0"
    return f"m={kind} 0 {proto} {fmt}"
