"""G.711 tables (bit for bit as audioop, which the recorder decodes with) and the ringback tone."""

from __future__ import annotations

import math
import warnings

from sipline.media import g711
from sipline.media.tones import FRAME_SAMPLES, OFF_FRAMES, ON_FRAMES, RINGBACK

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop on 3.11-3.12; audioop-lts on 3.13+
    import audioop


def test_encoding_matches_audioop_for_every_16_bit_sample() -> None:
    samples = range(-32768, 32768)
    pcm = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    assert g711.encode("PCMU", list(samples)) == audioop.lin2ulaw(pcm, 2)
    assert g711.encode("PCMA", list(samples)) == audioop.lin2alaw(pcm, 2)


def test_decoding_matches_audioop_for_every_code() -> None:
    codes = bytes(range(256))
    ulaw = b"".join(g711.ulaw_to_linear(c).to_bytes(2, "little", signed=True) for c in codes)
    alaw = b"".join(g711.alaw_to_linear(c).to_bytes(2, "little", signed=True) for c in codes)
    assert ulaw == audioop.ulaw2lin(codes, 2)
    assert alaw == audioop.alaw2lin(codes, 2)


def test_transcoding_tables_keep_the_signal() -> None:
    for code in range(256):
        via_alaw = g711.alaw_to_linear(g711.ULAW_TO_ALAW[code])
        assert abs(via_alaw - g711.ulaw_to_linear(code)) <= max(64, abs(g711.ulaw_to_linear(code)) // 8)
    assert len(g711.ULAW_TO_ALAW) == len(g711.ALAW_TO_ULAW) == 256


def _decode(codec: str, frame: bytes) -> list[int]:
    decode = g711.ulaw_to_linear if codec == "PCMU" else g711.alaw_to_linear
    return [decode(code) for code in frame]


def _power_at(samples: list[int], frequency: float) -> float:
    """Goertzel: the signal's power at one frequency (8 kHz sampling)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous**2 + before**2 - coefficient * previous * before


def test_ringback_is_425_hz_one_second_on_four_off() -> None:
    for codec, frames in RINGBACK.items():
        assert len(frames) == ON_FRAMES + OFF_FRAMES == 250  # 5 s at 20 ms
        assert all(len(frame) == FRAME_SAMPLES for frame in frames)
        tone = [s for frame in frames[:ON_FRAMES] for s in _decode(codec, frame)]
        assert _power_at(tone, 425) > 100 * _power_at(tone, 600)
        assert _power_at(tone, 425) > 100 * _power_at(tone, 300)
        pause = [s for frame in frames[ON_FRAMES:] for s in _decode(codec, frame)]
        assert max(abs(s) for s in pause) <= 8  # silence (G.711's smallest steps)
