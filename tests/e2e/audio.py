"""Audio the media tests make and check: a tone WAV for the phone's microphone, a frequency check on a
decoded recording (tests.media.recording.audio decodes it with mpg123), loudness contours to find speech,
and SIPp's pcap decoded."""

from __future__ import annotations

import array
import math
import struct
import wave
from collections.abc import Sequence
from pathlib import Path

from tests.media.recording.audio import power_at, rms

PCM_RATE = 8000  # G.711's sample rate: the tone WAV's and the phone's


def write_tone(path: Path, frequency: float, seconds: float, amplitude: int = 8000) -> Path:
    """A WAV of a pure tone, 8 kHz mono 16-bit (what baresip's aufile plays as a G.711 microphone)."""
    step = 2 * math.pi * frequency / PCM_RATE
    samples = array.array(
        "h", (round(amplitude * math.sin(step * n)) for n in range(int(seconds * PCM_RATE)))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(PCM_RATE)
        out.writeframes(samples.tobytes())
    return path


def tone_share(samples: list[int], rate: int, frequency: float) -> float:
    """The share of the block's energy at `frequency`: about 1 for a pure tone, about 0 for silence or
    speech. A window that does not hold whole periods leaks a little: the share is then < 1."""
    energy = sum(x * x for x in samples)
    return min(1.0, 2 * power_at(samples, frequency, rate) * len(samples) / energy) if energy else 0.0


def blocks(samples: Sequence[int], rate: int, seconds: float) -> list[list[int]]:
    """The samples cut into consecutive whole blocks of `seconds`."""
    size = int(rate * seconds)
    return [list(samples[start : start + size]) for start in range(0, len(samples) - size + 1, size)]


def envelope(samples: Sequence[int], rate: int, frame_seconds: float = 0.05) -> list[float]:
    """RMS loudness per frame: compares speech across codecs and sample rates."""
    return [rms(frame) for frame in blocks(samples, rate, frame_seconds)]


def best_match(needle: list[float], haystack: list[float]) -> float:
    """The highest correlation coefficient of `needle` against any same-length stretch of `haystack`."""
    best = -1.0
    for start in range(len(haystack) - len(needle) + 1):
        best = max(best, _correlation(needle, haystack[start : start + len(needle)]))
    return best


def _correlation(a: list[float], b: list[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread = math.sqrt(sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b))
    return cov / spread if spread else 0.0


def pcap_alaw(path: Path) -> list[int]:
    """The PCMA payloads of a SIPp audio pcap (Ethernet, IPv4, UDP, RTP), decoded to 16-bit PCM."""
    data = path.read_bytes()
    assert struct.unpack("<I", data[20:24])[0] == 1, "not an Ethernet capture"
    pcm: list[int] = []
    offset = 24
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        ip = data[offset + 16 + 14 : offset + 16 + length]
        offset += 16 + length
        rtp = ip[(ip[0] & 0x0F) * 4 + 8 :]
        pcm.extend(_ALAW[byte] for byte in rtp[12:])
    return pcm


def _alaw_to_linear(byte: int) -> int:
    """ITU-T G.711 A-law expansion."""
    value = byte ^ 0x55
    exponent = (value >> 4) & 0x07
    mantissa = value & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if value & 0x80 else -magnitude


_ALAW = [_alaw_to_linear(byte) for byte in range(256)]
