"""A recording's life as a user sees it through getRecordingFileUrl: not ready while the call is
recorded and encoded, failed when it could not be made, recovered after a crash, deleted by
retention."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from sipline.bootstrap import Platform
from sipline.services.recordings import RecordingService
from sipline.store.models import CallRecord
from tests.conftest import Api
from tests.recordings import RecordingApi, call_record, decoded_seconds, recorded_call, spooled, stored


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"recording_retention_days": 30}


@pytest.fixture
async def recordings(api: Api) -> RecordingApi:
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    return RecordingApi(api.http, api.customer)


async def set_status(platform: Platform, recording_id: str, status: str) -> None:
    async with platform.sessions() as session:
        await session.execute(
            update(CallRecord)
            .where(CallRecord.recording_file_id == recording_id)
            .values(recording_status=status)
        )
        await session.commit()


async def test_a_call_being_recorded_shows_its_id_but_is_not_ready(
    platform: Platform, recordings: RecordingApi
) -> None:
    voice_id = await call_record(platform, recordings.customer, hangup_time=None)
    raw = spooled(platform.recordings.spool)
    await platform.recordings.started(voice_id, raw.recording_id)
    record = await recordings.http.get(f"/voice/recordSip/{voice_id}", headers=recordings.customer.headers())
    assert record.json()["data"]["recordingFileId"] == raw.recording_id

    answer = await recordings.url_answer(raw.recording_id)
    assert answer["status"] == "-21"
    assert "not ready: the call is still being recorded" in str(answer["reason"])

    await set_status(platform, raw.recording_id, "encoding")  # finished(), while the encoder runs
    answer = await recordings.url_answer(raw.recording_id)
    assert answer["status"] == "-21"
    assert "still being encoded; ask again in a few seconds" in str(answer["reason"])

    await platform.recordings.finished(voice_id, raw)
    assert (await recordings.url_answer(raw.recording_id))["status"] == "0"
    assert not raw.directory.exists()  # the spool is removed once the mp3 is safe


async def test_the_mp3_lasts_as_long_as_the_recording(
    platform: Platform, recordings: RecordingApi, tmp_path: Path
) -> None:
    _, mp3 = await recorded_call(platform, recordings.customer, seconds=3.0)
    assert mp3.parent.parent.parent.parent == platform.settings.effective_recording_dir  # YYYY/MM/DD
    assert abs(decoded_seconds(mp3, tmp_path) - 3.0) < 0.2
    record = await stored(platform, mp3.stem)
    assert record.recording_bytes == mp3.stat().st_size
    assert record.recording_millis == 3000


async def test_a_recording_that_cannot_be_encoded_fails_clearly(
    platform: Platform, recordings: RecordingApi
) -> None:
    voice_id = await call_record(platform, recordings.customer)
    raw = spooled(platform.recordings.spool)
    day_folder = platform.settings.effective_recording_dir / f"{raw.started_at:%Y}"
    day_folder.write_text("a file where the year's folder should be")  # the mp3 cannot be written
    await platform.recordings.started(voice_id, raw.recording_id)
    await platform.recordings.finished(voice_id, raw)

    answer = await recordings.url_answer(raw.recording_id)
    assert answer["status"] == "-18"
    assert "failed and has no file (encoding failed" in str(answer["reason"])
    assert raw.directory.exists()  # kept: the next start tries again

    day_folder.unlink()
    assert await platform.recordings.recover() == 0  # begun in this run: not an earlier run's
    later = RecordingService(platform.sessions, platform.settings.effective_recording_dir, "sipline", 30)
    assert await later.recover() == 1
    assert (await recordings.url_answer(raw.recording_id))["status"] == "0"


async def test_recover_encodes_what_a_crash_left_in_the_spool(
    platform: Platform, recordings: RecordingApi
) -> None:
    started = datetime.now(UTC) - timedelta(minutes=5)
    leftover = spooled(platform.recordings.spool, started_at=started)
    crashed = await call_record(
        platform,
        recordings.customer,
        hangup_time=None,
        recording_file_id=leftover.recording_id,
        recording_status="recording",
        recording_started_at=started,
    )
    # Begun by the crashed run, but nothing of it reached the spool.
    await call_record(
        platform,
        recordings.customer,
        recording_file_id="0b6f4a8e-2f0e-4a34-9a53-4a1f2a9e6b10",
        recording_status="encoding",
        recording_started_at=started,
    )
    # Another node's recording in progress, in a spool shared with it: not this node's to touch.
    foreign = spooled(platform.recordings.spool, started_at=started)
    await call_record(
        platform,
        recordings.customer,
        node="other-node",
        recording_file_id=foreign.recording_id,
        recording_status="recording",
        recording_started_at=started,
    )
    assert (await recordings.url_answer(leftover.recording_id))["status"] == "-21"

    assert await platform.recordings.recover() == 1

    record = await recordings.http.get(f"/voice/recordSip/{crashed}", headers=recordings.customer.headers())
    assert record.json()["data"]["recordingFileId"] == leftover.recording_id
    url = await recordings.url(leftover.recording_id)
    assert (await recordings.http.get(url)).status_code == 200
    assert not leftover.directory.exists()
    answer = await recordings.url_answer("0b6f4a8e-2f0e-4a34-9a53-4a1f2a9e6b10")
    assert answer["status"] == "-18"
    assert "interrupted" in str(answer["reason"])
    assert foreign.directory.exists()
    assert (await stored(platform, foreign.recording_id)).recording_status == "recording"
    assert await platform.recordings.recover() == 0  # nothing left to do


async def test_recover_removes_the_spool_of_a_recording_encoded_before_the_crash(
    platform: Platform, recordings: RecordingApi
) -> None:
    recording_id, _ = await recorded_call(platform, recordings.customer)
    started = datetime.now(UTC) - timedelta(minutes=5)
    again = spooled(platform.recordings.spool, started_at=started)
    await call_record(
        platform,
        recordings.customer,
        recording_file_id=again.recording_id,
        recording_status="ready",
        recording_started_at=started,
        recording_path=(await stored(platform, recording_id)).recording_path,
    )
    assert await platform.recordings.recover() == 0
    assert not again.directory.exists()


async def test_sweep_deletes_mp3s_past_retention_and_says_so(
    platform: Platform, recordings: RecordingApi
) -> None:
    old_id, old_mp3 = await recorded_call(platform, recordings.customer)
    new_id, new_mp3 = await recorded_call(platform, recordings.customer)
    old_link = await recordings.url(old_id)
    async with platform.sessions() as session:
        await session.execute(
            update(CallRecord)
            .where(CallRecord.recording_file_id == old_id)
            .values(recording_started_at=datetime.now(UTC) - timedelta(days=31))
        )
        await session.commit()

    assert await platform.recordings.sweep(datetime.now(UTC)) == 1

    assert not old_mp3.exists() and new_mp3.exists()
    answer = await recordings.url_answer(old_id)
    assert answer["status"] == "-25"
    assert "deleted at the end of the retention period (30 days)" in str(answer["reason"])
    assert (await recordings.http.get(old_link)).status_code == 410
    assert (await recordings.url_answer(new_id))["status"] == "0"
    assert await platform.recordings.sweep(datetime.now(UTC)) == 0
    assert await platform.recordings.sweep(datetime.now(UTC) + timedelta(days=31)) == 1
    assert not new_mp3.exists()
    assert list(platform.settings.effective_recording_dir.glob("2*")) == []  # empty day folders go


async def test_retention_zero_keeps_recordings_forever(platform: Platform, recordings: RecordingApi) -> None:
    _, mp3 = await recorded_call(platform, recordings.customer)
    keeper = RecordingService(platform.sessions, platform.settings.effective_recording_dir, "sipline", 0)
    assert await keeper.sweep(datetime.now(UTC) + timedelta(days=36_500)) == 0
    assert mp3.exists()
