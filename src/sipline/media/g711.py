"""G.711 (ITU-T G.711) μ-law and A-law, as 256-byte tables for ``bytes.translate``.

Built once at import from the standard's segment encoding; no audioop (gone in Python 3.13).
"""

from __future__ import annotations

_BIAS = 0x84  # μ-law bias (132)


def ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = (((code & 0x0F) << 3) + _BIAS) << exponent
    return _BIAS - magnitude if code & 0x80 else magnitude - _BIAS


def alaw_to_linear(code: int) -> int:
    code ^= 0x55
    exponent = (code & 0x70) >> 4
    mantissa = code & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if code & 0x80 else -magnitude


def linear_to_ulaw(sample: int) -> int:
    value, mask = sample >> 2, 0xFF  # 14-bit, as G.711 and audioop do it
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    segment = _segment(value, _ULAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def linear_to_alaw(sample: int) -> int:
    value, mask = sample >> 3, 0xD5  # 13-bit
    if value < 0:
        value, mask = -value - 1, 0x55
    segment = _segment(value, _ALAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for segment, end in enumerate(ends):
        if value <= end:
            return segment
    return len(ends)


ULAW_TO_ALAW = bytes(linear_to_alaw(ulaw_to_linear(code)) for code in range(256))
ALAW_TO_ULAW = bytes(linear_to_ulaw(alaw_to_linear(code)) for code in range(256))


def encode(codec: str, samples: list[int]) -> bytes:
    """16-bit linear samples as PCMU or PCMA bytes."""
    encoder = linear_to_ulaw if codec == "PCMU" else linear_to_alaw
    return bytes(encoder(sample) for sample in samples)
