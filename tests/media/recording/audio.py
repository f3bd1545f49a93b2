"""Test audio: tones as RTP payloads, an independent mp3 decoder (mpg123), a frequency check."""

from __future__ import annotations

import math
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from sipline.media.recording.pcm import audioop
from tests.peers import require

PACKET_SAMPLES = 160  # 20 ms at 8 kHz


def tone(frequency: float, seconds: float, sample_rate: int = 8000, amplitude: int = 8000) -> bytes:
    """A sine as 16-bit little-endian PCM."""
    count = int(seconds * sample_rate)
    return struct.pack(
        f"<{count}h",
        *(int(amplitude * math.sin(2 * math.pi * frequency * i / sample_rate)) for i in range(count)),
    )


def g711_packets(pcm: bytes, codec: str) -> list[bytes]:
    """8 kHz PCM cut into 20 ms PCMU or PCMA payloads."""
    encode = audioop.lin2ulaw if codec == "PCMU" else audioop.lin2alaw
    step = PACKET_SAMPLES * 2
    return [encode(pcm[i : i + step], 2) for i in range(0, len(pcm), step)]


def g722_packets(pcm16k: bytes, workdir: Path) -> list[bytes]:
    """16 kHz PCM encoded to 64 kbit/s G.722 by ffmpeg (an encoder independent of ours), cut into
    20 ms payloads (160 bytes)."""
    source, encoded = workdir / "tone16k.raw", workdir / "tone.g722"
    source.write_bytes(pcm16k)
    raw_input = ["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", str(source)]
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", *raw_input, "-c:a", "g722", "-f", "g722", str(encoded)],
        check=True,
        timeout=60,
    )
    data = encoded.read_bytes()
    return [data[i : i + 160] for i in range(0, len(data), 160)]


def ffmpeg() -> str:
    return require("ffmpeg")


@dataclass(frozen=True)
class Decoded:
    sample_rate: int
    left: list[int]
    right: list[int]

    @property
    def duration(self) -> float:
        return len(self.left) / self.sample_rate


def decode_mp3(mp3: Path) -> Decoded:
    """The mp3 decoded by mpg123 (not by anything of ours) into its two channels."""
    mpg123 = require("mpg123")
    out = mp3.with_suffix(".wav")
    subprocess.run([mpg123, "-q", "-w", str(out), str(mp3)], check=True, timeout=60)
    with wave.open(str(out)) as wav:
        assert wav.getnchannels() == 2 and wav.getsampwidth() == 2
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    return Decoded(rate, list(samples[0::2]), list(samples[1::2]))


def power_at(samples: list[int], frequency: float, sample_rate: int) -> float:
    """Goertzel: the signal's power at ``frequency`` (normalised by length)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / sample_rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return (previous * previous + before * before - coefficient * previous * before) / len(samples) ** 2


def dominant(samples: list[int], candidates: list[float], sample_rate: int) -> float:
    """Which of ``candidates`` the signal holds most of."""
    return max(candidates, key=lambda frequency: power_at(samples, frequency, sample_rate))


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0
