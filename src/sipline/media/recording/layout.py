"""Where a recording lives in the spool and what its metadata file says (shared by the recorder,
which writes it, and the spool recovery, which reads it back after a crash)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sipline.media.port import RawRecording

METADATA_FILE = "meta.json"
LEFT_FILE = "agent.pcm"  # left channel
RIGHT_FILE = "callee.pcm"  # right channel
SAMPLE_RATES = (8000, 16000)  # G.711 narrowband, G.722 wideband


def recording_directory(spool: Path, recording_id: str) -> Path:
    """The recording's own directory. The id must be a UUID in its canonical form (so it can name
    no other path, and the directory's name is the id); raises ``ValueError`` otherwise."""
    if len(recording_id) != 36 or str(uuid.UUID(recording_id)) != recording_id:
        raise ValueError(f"recording id {recording_id[:64]!r} is not a canonical UUID")
    return spool / recording_id


def raw_recording(directory: Path, recording_id: str, sample_rate: int, started_at: datetime) -> RawRecording:
    return RawRecording(
        recording_id=recording_id,
        directory=directory,
        left=directory / LEFT_FILE,
        right=directory / RIGHT_FILE,
        sample_rate=sample_rate,
        started_at=started_at,
    )


def write_metadata(raw: RawRecording) -> None:
    """Atomically (temp file, rename), so a reader never sees half a file."""
    document = {
        "recording_id": raw.recording_id,
        "started_at": raw.started_at.astimezone(UTC).isoformat(),
        "sample_rate": raw.sample_rate,
        "format": "s16le",
        "left": LEFT_FILE,
        "right": RIGHT_FILE,
    }
    temporary = raw.directory / f".{METADATA_FILE}.tmp"
    temporary.write_text(json.dumps(document), encoding="utf-8")
    os.replace(temporary, raw.directory / METADATA_FILE)


class CorruptMetadata(ValueError):
    """The metadata file is missing, unreadable or says something impossible."""


def read_metadata(directory: Path) -> RawRecording:
    """The recording described by ``directory``'s metadata; raises ``CorruptMetadata``."""
    try:
        text = (directory / METADATA_FILE).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptMetadata(f"{directory.name}: unreadable metadata ({exc})") from exc
    if not isinstance(document, dict):
        raise CorruptMetadata(f"{directory.name}: metadata is not an object")
    recording_id = document.get("recording_id")
    sample_rate = document.get("sample_rate")
    started_at = document.get("started_at")
    if recording_id != directory.name:
        raise CorruptMetadata(f"{directory.name}: metadata names another recording")
    if type(sample_rate) is not int or sample_rate not in SAMPLE_RATES:
        raise CorruptMetadata(f"{directory.name}: unsupported sample rate {sample_rate!r}")
    if not isinstance(started_at, str) or len(started_at) > 64:
        raise CorruptMetadata(f"{directory.name}: no start time")
    try:
        started = datetime.fromisoformat(started_at)
    except ValueError as exc:
        raise CorruptMetadata(f"{directory.name}: bad start time {started_at!r}") from exc
    if started.tzinfo is None:
        raise CorruptMetadata(f"{directory.name}: start time without a time zone")
    return raw_recording(directory, recording_id, sample_rate, started.astimezone(UTC))
