"""Recordings for tests: call records to hang them on, spool files of a generated tone, and the
signed API calls that ask for them."""

import math
import struct
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.media.port import RawRecording
from sipline.media.recording.layout import (
    LEFT_FILE,
    RIGHT_FILE,
    raw_recording,
    recording_directory,
    write_metadata,
)
from sipline.store.models import CallRecord
from tests.api.test_records import insert
from tests.conftest import Customer

SAMPLE_RATE = 8000
SECRET_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 known bytes
LINK_PURPOSE = "sipline recording links"  # as bootstrap derives the link key


def tone(frequency: float, seconds: float, amplitude: int = 8000) -> bytes:
    """Mono 16-bit little-endian PCM of a sine at SAMPLE_RATE."""
    count = int(seconds * SAMPLE_RATE)
    return b"".join(
        struct.pack("<h", round(amplitude * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)))
        for n in range(count)
    )


def spooled(spool: Path, seconds: float = 2.0, started_at: datetime | None = None) -> RawRecording:
    """A recording in the spool as the recorder leaves it: metadata, 1 kHz left, 400 Hz right."""
    recording_id = str(uuid.uuid4())
    directory = recording_directory(spool, recording_id)
    directory.mkdir(parents=True)
    raw = raw_recording(directory, recording_id, SAMPLE_RATE, started_at or datetime.now(UTC))
    write_metadata(raw)
    (directory / LEFT_FILE).write_bytes(tone(1000, seconds))
    (directory / RIGHT_FILE).write_bytes(tone(400, seconds))
    return raw


_sequence = iter(range(1_000_000))


async def call_record(platform: Platform, customer: Customer, **extra: object) -> str:
    """A finished call of the customer's app (its first phone group must exist); returns the voiceId."""
    now = datetime.now(UTC).replace(microsecond=0)
    voice_id = f"261202010000{next(_sequence):07d}"
    finished: dict[str, object] = {
        "answer_time": now - timedelta(seconds=30),
        "hangup_time": now,
        "call_duration": 30,
        "termination_code": "200",
        "node": platform.settings.node_name,
    }
    await insert(platform, customer, voice_id, now - timedelta(minutes=1), **(finished | extra))
    return voice_id


async def recorded_call(platform: Platform, customer: Customer, seconds: float = 2.0) -> tuple[str, Path]:
    """A call recorded through the service, as the call flow does it; its recordingFileId and mp3."""
    voice_id = await call_record(platform, customer)
    raw = spooled(platform.recordings.spool, seconds)
    await platform.recordings.started(voice_id, raw.recording_id)
    await platform.recordings.finished(voice_id, raw)
    record = await stored(platform, raw.recording_id)
    assert record.recording_status == "ready" and record.recording_path is not None
    return raw.recording_id, platform.settings.effective_recording_dir / record.recording_path


async def stored(platform: Platform, recording_id: str) -> CallRecord:
    async with platform.sessions() as session:
        record = await session.scalar(select(CallRecord).where(CallRecord.recording_file_id == recording_id))
    assert record is not None
    return record


@dataclass
class RecordingApi:
    http: httpx.AsyncClient
    customer: Customer

    async def url_answer(
        self, recording_id: str | None, source_type: str | None = "sip"
    ) -> dict[str, object]:
        params = {
            key: value
            for key, value in (("recordingFileId", recording_id), ("sourceType", source_type))
            if value is not None
        }
        response = await self.http.get(
            "/voice/getRecordingFileUrl", params=params, headers=self.customer.headers()
        )
        assert response.status_code == 200, response.text
        answer: dict[str, object] = response.json()
        return answer

    async def url(self, recording_id: str) -> str:
        answer = await self.url_answer(recording_id)
        assert answer["status"] == "0", answer
        data = answer["data"]
        assert isinstance(data, dict)
        return str(data["url"])


def decoded_seconds(mp3: Path, scratch: Path) -> float:
    """The mp3's length as an independent decoder (Debian's mpg123) reads it."""
    wav = scratch / "decoded.wav"
    subprocess.run(["mpg123", "-q", "-w", str(wav), str(mp3)], check=True, timeout=30)
    data = wav.read_bytes()
    channels, rate = int.from_bytes(data[22:24], "little"), int.from_bytes(data[24:28], "little")
    return (len(data) - 44) / (channels * 2 * rate)
