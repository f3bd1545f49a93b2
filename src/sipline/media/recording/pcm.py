"""G.711 and G.722 to 16-bit little-endian PCM, and interleaving, in C (``audioop``, ``G722``).

``audioop`` is in the standard library up to Python 3.12 (deprecated there) and comes from the
``audioop-lts`` package, under the same name, on 3.13+ (pyproject installs it by environment marker).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop as audioop  # re-exported: the one import of it that works on every Python

import G722

SAMPLE_WIDTH = 2  # bytes per sample: 16-bit signed
_LITTLE_ENDIAN = sys.byteorder == "little"  # audioop works in native byte order

Decoder = Callable[[bytes], bytes]
G722_BIT_RATE = 64000  # the bit rate of RTP's G722 payload (RFC 3551)


def pcmu_to_pcm(payload: bytes) -> bytes:
    pcm = audioop.ulaw2lin(payload, SAMPLE_WIDTH)
    return pcm if _LITTLE_ENDIAN else audioop.byteswap(pcm, SAMPLE_WIDTH)


def pcma_to_pcm(payload: bytes) -> bytes:
    pcm = audioop.alaw2lin(payload, SAMPLE_WIDTH)
    return pcm if _LITTLE_ENDIAN else audioop.byteswap(pcm, SAMPLE_WIDTH)


def doubled(pcm: bytes) -> bytes:
    """8 kHz PCM at 16 kHz, each sample repeated (for a G.711 leg in a G.722 call's recording)."""
    return audioop.tostereo(pcm, SAMPLE_WIDTH, 1, 1)


class G722Decoder:
    """One G.722 stream (the codec is adaptive: one decoder per leg and SSRC) to PCM at
    ``sample_rate``: 16000, or 8000 for a G.722 leg in a G.711 call's recording."""

    __slots__ = ("_codec",)

    def __init__(self, sample_rate: int) -> None:
        self._codec = G722.G722(sample_rate, G722_BIT_RATE, use_numpy=False)

    def __call__(self, payload: bytes) -> bytes:
        pcm: bytes = self._codec.decode(payload).tobytes()
        return pcm if _LITTLE_ENDIAN else audioop.byteswap(pcm, SAMPLE_WIDTH)


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono little-endian channels of equal length as one stereo stream (L R L R ...)."""
    if not _LITTLE_ENDIAN:
        left, right = audioop.byteswap(left, SAMPLE_WIDTH), audioop.byteswap(right, SAMPLE_WIDTH)
    stereo = audioop.add(
        audioop.tostereo(left, SAMPLE_WIDTH, 1, 0), audioop.tostereo(right, SAMPLE_WIDTH, 0, 1), SAMPLE_WIDTH
    )
    return stereo if _LITTLE_ENDIAN else audioop.byteswap(stereo, SAMPLE_WIDTH)
