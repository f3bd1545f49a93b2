"""A recording's spool files as one stereo mp3 (``lameenc``), after hang-up.

Synchronous and CPU-bound: callers run it in a worker thread, off the event loop. The PCM is read
and encoded a chunk at a time, so an hour-long call needs no more memory than a short one, and the
mp3 appears under its name only when complete (a temporary file beside it, renamed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import lameenc

from sipline.media.port import RawRecording
from sipline.media.recording.pcm import SAMPLE_WIDTH, interleave

CHUNK_SECONDS = 10
BIT_RATES_KBPS = range(8, 161)  # what MPEG-2 and 2.5 layer III offer at 8 and 16 kHz
EMPTY_FRAMES = 576  # one mp3 frame at 8 and 16 kHz
LAME_QUALITY = 5  # lame's -q: 2 best, 7 fast; 5 is its default trade-off


@dataclass(frozen=True)
class EncodedRecording:
    duration_seconds: float
    size_bytes: int


def encode_mp3(raw: RawRecording, destination: Path, *, bitrate_kbps: int = 32) -> EncodedRecording:
    """Encodes ``raw`` (agent left, callee right) to ``destination``, replacing it atomically.

    A missing channel file, or the shorter channel's end, is silence (a recording without any
    audio is a valid mp3 of one frame of silence, ``duration_seconds`` 0). Raises ``ValueError`` for
    a bit rate outside 8-160 kbit/s, ``OSError`` when a file cannot be read or written, ``RuntimeError``
    when lame fails (nothing is left at ``destination`` then).
    """
    if bitrate_kbps not in BIT_RATES_KBPS:
        raise ValueError(f"mp3 bit rate {bitrate_kbps} kbit/s is outside 8-160")
    frames = max(_frames_in(raw.left), _frames_in(raw.right))
    encoder = lameenc.Encoder()
    encoder.set_channels(2)
    encoder.set_in_sample_rate(raw.sample_rate)
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_quality(LAME_QUALITY)
    chunk_bytes = CHUNK_SECONDS * raw.sample_rate * SAMPLE_WIDTH
    with _replacing(destination) as mp3, _opened(raw.left) as left, _opened(raw.right) as right:
        for offset in range(0, frames * SAMPLE_WIDTH, chunk_bytes):
            size = min(chunk_bytes, frames * SAMPLE_WIDTH - offset)
            stereo = interleave(_read(left, size), _read(right, size))
            mp3.write(encoder.encode(stereo))
        if not frames:  # no audio at all: still a valid mp3, a moment of silence
            mp3.write(encoder.encode(bytes(EMPTY_FRAMES * 2 * SAMPLE_WIDTH)))
        mp3.write(encoder.flush())
    return EncodedRecording(duration_seconds=frames / raw.sample_rate, size_bytes=destination.stat().st_size)


def _frames_in(path: Path) -> int:
    """Whole samples in a channel file (a torn last sample is dropped); 0 when it is missing."""
    try:
        return path.stat().st_size // SAMPLE_WIDTH
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO | None]:
    try:
        file = path.open("rb")
    except FileNotFoundError:
        yield None
        return
    with file:
        yield file


def _read(file: BinaryIO | None, size: int) -> bytes:
    """``size`` bytes of the channel, silence past its end."""
    data = file.read(size) if file is not None else b""
    if len(data) % SAMPLE_WIDTH:
        data = data[: len(data) - len(data) % SAMPLE_WIDTH]
    return data + bytes(size - len(data))


@contextlib.contextmanager
def _replacing(destination: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``destination`` that becomes it (durably) when the block succeeds."""
    descriptor, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
