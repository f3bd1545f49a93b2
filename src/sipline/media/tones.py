"""A locally generated ringback tone: 425 Hz, 1 s on and 4 s off (ITU-T E.180), as 20 ms G.711 frames.

Precomputed once: 50 tone frames (one second, a whole number of cycles, so the loop is seamless)
and the silent frames of the pause, for PCMU and PCMA.
"""

from __future__ import annotations

import math

from sipline.media import g711

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
FREQUENCY = 425
ON_FRAMES, OFF_FRAMES = 50, 200
_AMPLITUDE = 0.25 * 32767  # about -12 dBm0: clearly audible, not loud


def _frames(codec: str) -> tuple[bytes, ...]:
    tone = []
    for frame in range(ON_FRAMES):
        start = frame * FRAME_SAMPLES
        samples = [
            round(_AMPLITUDE * math.sin(2 * math.pi * FREQUENCY * (start + n) / SAMPLE_RATE))
            for n in range(FRAME_SAMPLES)
        ]
        tone.append(g711.encode(codec, samples))
    silence = g711.encode(codec, [0] * FRAME_SAMPLES)
    return (*tone, *([silence] * OFF_FRAMES))


RINGBACK = {"PCMU": _frames("PCMU"), "PCMA": _frames("PCMA")}
