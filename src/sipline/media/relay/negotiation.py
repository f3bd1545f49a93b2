"""Codec policy between the two legs of an anchored call (no I/O: pure choices over codec lists).

PCMU, PCMA and telephone-event are kept; G.722 is relayed and recorded when both legs share it;
other codecs are passed through (forwarded when both legs share them, never recorded). G.711
comes first in the platform's answers so that phones send a law the recorder reads; the other law
is always offered too, since the relay transcodes between them.
"""

from __future__ import annotations

from sipline.media.port import NoCommonCodec
from sipline.media.relay.routes import RECORDED, TELEPHONE_EVENT
from sipline.media.sdp import Codec

_G711 = {("PCMU", 8000): 0, ("PCMA", 8000): 8}
_EVENT_PT = 101
DEFAULT_OFFER = (
    Codec(0, "PCMU", 8000),
    Codec(8, "PCMA", 8000),
    Codec(_EVENT_PT, "telephone-event", 8000, "0-16"),
)


def passed_through(codecs: tuple[Codec, ...]) -> list[str]:
    """Names of the codecs that are relayed but not recorded."""
    return [c.name for c in codecs if c.key[0] not in RECORDED and c.key[0] not in (TELEPHONE_EVENT, "CN")]


def answer_codecs(offered: tuple[Codec, ...], other: tuple[Codec, ...] | None) -> tuple[Codec, ...]:
    """What the platform answers a leg's offer with, given the other leg's codecs (None: unknown yet)."""
    if other is not None:
        reachable = {c.key for c in other}
        if reachable & _G711.keys():
            reachable |= _G711.keys()  # the relay transcodes between the laws
        offered = tuple(c for c in offered if c.key in reachable or c.key[0] == TELEPHONE_EVENT)
    g711 = tuple(c for c in offered if c.key in _G711)
    rest = tuple(c for c in offered if c.key not in _G711)
    chosen = g711 + rest
    _require_audio(chosen)
    return chosen


def offer_codecs(other: tuple[Codec, ...] | None) -> tuple[Codec, ...]:
    """The platform's offer to a leg: the other leg's codecs, the other G.711 law, telephone-event."""
    if not other:
        return DEFAULT_OFFER
    codecs = list(other)
    used = {c.pt for c in codecs}
    keys = {c.key for c in codecs}
    if keys & _G711.keys():
        for key, pt in _G711.items():
            free = _free_pt(pt, used)
            if key not in keys and free is not None:
                codecs.append(Codec(free, key[0], key[1]))
                used.add(free)
    free = _free_pt(_EVENT_PT, used)
    if free is not None and not any(c.key[0] == TELEPHONE_EVENT for c in codecs):
        codecs.append(Codec(free, "telephone-event", 8000, "0-16"))  # so that we hear key presses
    return tuple(codecs)


def accepted_codecs(answered: tuple[Codec, ...], offered: tuple[Codec, ...]) -> tuple[Codec, ...]:
    """The codecs of a leg's answer that the platform offered (matched by name and rate)."""
    keys = {c.key for c in offered}
    chosen = tuple(c for c in answered if c.key in keys)
    _require_audio(chosen)
    return chosen


def _require_audio(codecs: tuple[Codec, ...]) -> None:
    if not any(c.key[0] not in (TELEPHONE_EVENT, "CN") for c in codecs):
        raise NoCommonCodec("no audio codec in common (PCMU and PCMA are supported)")


def _free_pt(wanted: int, used: set[int]) -> int | None:
    if wanted not in used:
        return wanted
    return next((pt for pt in range(96, 128) if pt not in used), None)
