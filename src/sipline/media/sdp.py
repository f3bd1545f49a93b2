"""SDP for anchoring media (RFC 4566 / RFC 3264): read a leg's audio stream, write the platform's.

Bounded: a description over ``MAX_SDP_BYTES``, ``MAX_LINES`` lines or ``MAX_MEDIA`` m= lines, or a
malformed v=, c= or m= line, raises ``MediaError`` and never another exception; a malformed
attribute (rtpmap, fmtp, ptime, rtcp) is ignored, so a payload type it described is not used.
Only the first audio stream is used; the platform's answer rejects the others (port 0), keeping
one m= line per offered one as RFC 3264 §6 wants.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sipline.media.port import MediaError

MAX_SDP_BYTES = 16_384
MAX_LINES = 256
MAX_MEDIA = 16
MAX_FORMATS = 32

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSED = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 9: ("G722", 8000), 18: ("G729", 8000), 3: ("GSM", 8000)}
_PROTOCOLS = ("RTP/AVP", "RTP/AVPF")


@dataclass(frozen=True)
class Codec:
    pt: int
    name: str  # as in rtpmap, case kept; compare with ``key``
    rate: int
    fmtp: str | None = None
    channels: int = 1

    @property
    def key(self) -> tuple[str, int]:
        """Codecs match across legs by name and clock rate, whatever their payload types."""
        return (self.name.upper(), self.rate)


@dataclass(frozen=True)
class AudioStream:
    address: str | None  # None: unspecified (0.0.0.0, a host name) until latched
    port: int  # 0: the stream is rejected or disabled
    protocol: str
    codecs: tuple[Codec, ...]
    direction: str
    ptime: int | None
    rtcp_port: int | None  # a=rtcp, else None (port + 1)


@dataclass(frozen=True)
class MediaLine:
    kind: str
    protocol: str
    formats: str  # as offered, for rejecting it


@dataclass(frozen=True)
class SessionDescription:
    media: tuple[MediaLine, ...]
    audio_index: int  # the stream used, an index into ``media``
    audio: AudioStream


def reversed_direction(direction: str) -> str:
    return _REVERSED[direction]


def parse(data: bytes) -> SessionDescription:
    """The first audio stream of ``data``; MediaError when there is none or the SDP is not readable."""
    if len(data) > MAX_SDP_BYTES:
        raise MediaError(f"SDP is larger than {MAX_SDP_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MediaError("SDP is not UTF-8") from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise MediaError(f"SDP has more than {MAX_LINES} lines")
    lines = [line.strip() for line in lines if line.strip()]
    if not lines or lines[0] != "v=0":
        raise MediaError("SDP must start with v=0")
    return _Reader(lines).read()


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.session_address: str | None = None
        self.session_direction = "sendrecv"

    def read(self) -> SessionDescription:
        blocks: list[list[str]] = [[]]
        for line in self.lines:
            if line.startswith("m="):
                if len(blocks) > MAX_MEDIA:
                    raise MediaError(f"SDP has more than {MAX_MEDIA} m= lines")
                blocks.append([])
            blocks[-1].append(line)
        for line in blocks[0]:
            if line.startswith("c="):
                self.session_address = _connection_address(line)
            elif line[2:] in DIRECTIONS and line.startswith("a="):
                self.session_direction = line[2:]
        media: list[MediaLine] = []
        audio: AudioStream | None = None
        audio_index = -1
        for index, block in enumerate(blocks[1:]):
            fields = block[0][2:].split()
            if len(fields) < 3:
                raise MediaError(f"malformed media line {block[0][:80]!r}")
            media.append(MediaLine(fields[0], fields[2], " ".join(fields[3:]) or "0"))
            if audio is None and fields[0] == "audio" and fields[2] in _PROTOCOLS:
                audio = self._audio(fields, block[1:])
                audio_index = index
        if audio is None:
            raise MediaError("SDP has no RTP/AVP audio stream")
        return SessionDescription(tuple(media), audio_index, audio)

    def _audio(self, fields: list[str], attributes: list[str]) -> AudioStream:
        port = _bounded_int(fields[1].split("/")[0], 0, 65535, "media port")
        if len(fields) - 3 > MAX_FORMATS:
            raise MediaError(f"audio stream lists more than {MAX_FORMATS} formats")
        pts = [_bounded_int(pt, 0, 127, "payload type") for pt in fields[3:]]
        rtpmap: dict[int, tuple[str, int, int]] = {}
        fmtp: dict[int, str] = {}
        address, direction = self.session_address, self.session_direction
        ptime: int | None = None
        rtcp_port: int | None = None
        for line in attributes:
            if line.startswith("c="):
                address = _connection_address(line)
                continue
            if not line.startswith("a="):
                continue
            name, _, value = line[2:].partition(":")
            try:  # a malformed attribute is ignored (its payload type then unusable), not fatal
                if name in DIRECTIONS and not value:
                    direction = name
                elif name == "rtpmap":
                    pt, mapping = _pt_value(value)
                    rtpmap[pt] = _rtpmap(mapping)
                elif name == "fmtp":
                    pt, parameters = _pt_value(value)
                    fmtp[pt] = parameters[:200]
                elif name == "ptime":
                    ptime = _bounded_int(value.strip(), 1, 1000, "ptime")
                elif name == "rtcp":
                    rtcp_port = _bounded_int(value.split()[0] if value.split() else "", 1, 65535, "rtcp")
            except MediaError:
                continue
        codecs = []
        for pt in dict.fromkeys(pts):  # a payload type listed twice counts once
            if pt in rtpmap:
                name, rate, channels = rtpmap[pt]
            elif pt in _STATIC:
                (name, rate), channels = _STATIC[pt], 1
            else:
                continue  # a dynamic type without rtpmap cannot be used
            codecs.append(Codec(pt, name, rate, fmtp.get(pt), channels))
        return AudioStream(address, port, fields[2], tuple(codecs), direction, ptime, rtcp_port)


def _connection_address(line: str) -> str | None:
    fields = line[2:].split()
    if len(fields) < 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise MediaError(f"malformed connection line {line[:80]!r}")
    try:
        address = ipaddress.ip_address(fields[2].split("/")[0])
    except ValueError:
        return None  # a host name: we do not resolve, the leg is found by latching
    return None if address.is_unspecified else str(address)


def _pt_value(value: str) -> tuple[int, str]:
    pt, _, rest = value.strip().partition(" ")
    return _bounded_int(pt, 0, 127, "payload type"), rest.strip()


def _rtpmap(mapping: str) -> tuple[str, int, int]:
    parts = mapping.split("/")
    if len(parts) < 2 or not parts[0] or len(parts[0]) > 32:
        raise MediaError(f"malformed rtpmap {mapping[:80]!r}")
    rate = _bounded_int(parts[1], 1, 192_000, "clock rate")
    channels = _bounded_int(parts[2], 1, 8, "channels") if len(parts) > 2 and parts[2] else 1
    return parts[0], rate, channels


def _bounded_int(text: str, low: int, high: int, what: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise MediaError(f"{what} {text[:20]!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise MediaError(f"{what} {value} is outside {low}..{high}")
    return value


@dataclass(frozen=True)
class Origin:
    """The platform's o= line: one session id per leg, its version bumped on every new SDP."""

    session_id: int
    version: int


def write(
    host: str,
    port: int,
    origin: Origin,
    codecs: tuple[Codec, ...],
    direction: str,
    *,
    ptime: int | None = None,
    protocol: str = "RTP/AVP",
    answer_to: SessionDescription | None = None,
) -> bytes:
    """The platform's SDP: its own address and port, RTCP on port + 1.

    As an answer, every offered stream but the one used is rejected with port 0, in offer order.
    """
    ip = "IP6" if ":" in host else "IP4"
    lines = [
        "v=0",
        f"o=sipline {origin.session_id} {origin.version} IN {ip} {host}",
        "s=sipline",
        f"c=IN {ip} {host}",
        "t=0 0",
    ]
    audio = [f"m=audio {port} {protocol} {' '.join(str(codec.pt) for codec in codecs)}"]
    for codec in codecs:
        channels = f"/{codec.channels}" if codec.channels != 1 else ""
        audio.append(f"a=rtpmap:{codec.pt} {codec.name}/{codec.rate}{channels}")
        if codec.fmtp:
            audio.append(f"a=fmtp:{codec.pt} {codec.fmtp}")
    if ptime is not None:
        audio.append(f"a=ptime:{ptime}")
    audio += [f"a=rtcp:{port + 1}", f"a={direction}"]
    if answer_to is None:
        lines += audio
    else:
        for index, media in enumerate(answer_to.media):
            if index == answer_to.audio_index:
                lines += audio
            else:
                lines.append(f"m={media.kind} 0 {media.protocol} {media.formats}")
    return ("\r\n".join(lines) + "\r\n").encode()
