"""G.711 μ-law and A-law for the relay: the PCMU<->PCMA tables for ``bytes.translate`` and the
encoder of the ringback tone, from the same ``audioop`` the recorder decodes with
(``recording/pcm.py``: the standard library, or ``audioop-lts`` on Python 3.13+)."""

from __future__ import annotations

from array import array

from sipline.media.recording.pcm import SAMPLE_WIDTH, audioop

_EVERY_CODE = bytes(range(256))


def _linear(pcm: bytes) -> list[int]:
    return array("h", pcm).tolist()  # audioop works in native byte order, as array does


_ULAW_LINEAR = _linear(audioop.ulaw2lin(_EVERY_CODE, SAMPLE_WIDTH))
_ALAW_LINEAR = _linear(audioop.alaw2lin(_EVERY_CODE, SAMPLE_WIDTH))


def ulaw_to_linear(code: int) -> int:
    return _ULAW_LINEAR[code]


def alaw_to_linear(code: int) -> int:
    return _ALAW_LINEAR[code]


ULAW_TO_ALAW = audioop.lin2alaw(audioop.ulaw2lin(_EVERY_CODE, SAMPLE_WIDTH), SAMPLE_WIDTH)
ALAW_TO_ULAW = audioop.lin2ulaw(audioop.alaw2lin(_EVERY_CODE, SAMPLE_WIDTH), SAMPLE_WIDTH)


def encode(codec: str, samples: list[int]) -> bytes:
    """16-bit linear samples as PCMU or PCMA bytes."""
    pcm = array("h", samples).tobytes()
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH) if codec == "PCMU" else audioop.lin2alaw(pcm, SAMPLE_WIDTH)
