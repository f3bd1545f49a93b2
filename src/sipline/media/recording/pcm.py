"""G.711 to 16-bit little-endian PCM, and interleaving, with ``audioop`` (C speed).

``audioop`` is in the standard library up to Python 3.12 (deprecated there) and comes from the
``audioop-lts`` package, under the same name, on 3.13+ (pyproject installs it by environment marker).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_WIDTH = 2  # bytes per sample: 16-bit signed
_LITTLE_ENDIAN = sys.byteorder == "little"  # audioop works in native byte order

Decoder = Callable[[bytes], bytes]


def pcmu_to_pcm(payload: bytes) -> bytes:
    pcm = audioop.ulaw2lin(payload, SAMPLE_WIDTH)
    return pcm if _LITTLE_ENDIAN else audioop.byteswap(pcm, SAMPLE_WIDTH)


def pcma_to_pcm(payload: bytes) -> bytes:
    pcm = audioop.alaw2lin(payload, SAMPLE_WIDTH)
    return pcm if _LITTLE_ENDIAN else audioop.byteswap(pcm, SAMPLE_WIDTH)


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono little-endian channels of equal length as one stereo stream (L R L R ...)."""
    if not _LITTLE_ENDIAN:
        left, right = audioop.byteswap(left, SAMPLE_WIDTH), audioop.byteswap(right, SAMPLE_WIDTH)
    stereo = audioop.add(
        audioop.tostereo(left, SAMPLE_WIDTH, 1, 0), audioop.tostereo(right, SAMPLE_WIDTH, 0, 1), SAMPLE_WIDTH
    )
    return stereo if _LITTLE_ENDIAN else audioop.byteswap(stereo, SAMPLE_WIDTH)
