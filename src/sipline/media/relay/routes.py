"""Per leg, what each incoming payload type becomes on the other leg: a table built at negotiation.

Codecs match by name and clock rate, so telephone-event may be 101 on one leg and 96 on the other.
When the legs ended on different G.711 laws, the payload is transcoded with a 256-byte table.
The hot path indexes a 128-entry list by payload type: no dict lookup, no codec logic per packet.
"""

from __future__ import annotations

from typing import NamedTuple

from sipline.media import g711
from sipline.media.sdp import Codec

RECORDED = frozenset({"PCMU", "PCMA", "G722"})  # the recorder decodes these; others pass unrecorded
TELEPHONE_EVENT = "TELEPHONE-EVENT"
_TRANSCODE = {("PCMU", "PCMA"): g711.ULAW_TO_ALAW, ("PCMA", "PCMU"): g711.ALAW_TO_ULAW}


class Route(NamedTuple):
    out_pt: int  # payload type on the other leg; -1: not forwarded (the other leg cannot take it)
    table: bytes | None  # bytes.translate table when transcoding
    recorded: str | None  # codec name the recorder gets the (original) payload as
    dtmf: bool  # an RFC 4733 telephone-event: decoded as well as forwarded


Routes = list[Route | None]


def build_routes(incoming: tuple[Codec, ...], outgoing: tuple[Codec, ...]) -> Routes:
    """Routes for packets arriving with ``incoming``'s payload types, sent with ``outgoing``'s.

    The first codec listed for a payload type wins (our own SDP's types are listed first).
    """
    routes: Routes = [None] * 128
    by_key: dict[tuple[str, int], Codec] = {}
    for codec in outgoing:
        by_key.setdefault(codec.key, codec)
    for codec in incoming:
        if routes[codec.pt] is not None:
            continue
        name = codec.key[0]
        same = by_key.get(codec.key)
        recorded = name if name in RECORDED and codec.rate == 8000 else None
        if same is not None:
            routes[codec.pt] = Route(same.pt, None, recorded, name == TELEPHONE_EVENT)
            continue
        for (source, target), table in _TRANSCODE.items():
            other = by_key.get((target, 8000))
            if name == source and other is not None:
                routes[codec.pt] = Route(other.pt, table, recorded, False)
                break
        else:
            routes[codec.pt] = Route(-1, None, recorded, name == TELEPHONE_EVENT)
    return routes


def g711_codec(codecs: tuple[Codec, ...]) -> Codec | None:
    """The first G.711 codec of a leg: what a locally generated tone is sent as."""
    return next((c for c in codecs if c.key in (("PCMU", 8000), ("PCMA", 8000))), None)
