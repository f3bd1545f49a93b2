"""Recordings, from the call's answer to the mp3's deletion: the use case the call flow tells.

- ``started``: the call was answered and is being recorded; its record shows the recordingFileId.
- ``finished``: the call ended; its spool files are encoded to mp3 off the event loop (a bounded
  number at once), then the spool is removed. The record says ``ready`` (with the mp3's relative
  path, size and length) or ``failed`` (with the reason; the spool is then kept, and the next start
  tries again).
- ``recover``: at start, the recordings a crash left in the spool are encoded; recordings this node
  had begun but left nothing of are marked failed.
- ``sweep``: mp3s older than the retention period are deleted, their records marked ``deleted``.

The mp3 of a recording lives at ``<recording_dir>/YYYY/MM/DD/<recordingFileId>.mp3`` (the day it
began, UTC). Each node handles its own recordings (the record's ``node``).
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.recordings import RECORDING_ID, RecordingStatus
from sipline.media.port import RawRecording
from sipline.media.recording.encode import EncodedRecording, encode_mp3
from sipline.media.recording.spool import discard, interrupted
from sipline.store.models import CallRecord

log = logging.getLogger("sipline.recordings")

_UNFINISHED = (RecordingStatus.RECORDING.value, RecordingStatus.ENCODING.value)
_SETTLED = (RecordingStatus.READY.value, RecordingStatus.DELETED.value)
SWEEP_INTERVAL = 3600.0  # seconds between retention sweeps: recordings are kept for days
SHUTDOWN_GRACE = 30.0  # seconds a stopping node waits for encodings in progress
SWEEP_BATCH = 500  # records per sweep query: a long-neglected sweep does not load them all at once
_ERROR_LENGTH = 256  # the recording_error column


def mp3_path(recording_id: str, started_at: datetime) -> str:
    """Where a recording's mp3 lives, relative to the recording directory."""
    return f"{started_at.astimezone(UTC):%Y/%m/%d}/{recording_id}.mp3"


class RecordingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        recording_dir: Path,
        node: str,
        retention_days: int,
        *,
        encoders: int = 2,
    ) -> None:
        self._sessions = sessions
        self.directory = recording_dir
        self.spool = recording_dir / "spool"
        self._node = node
        self.retention = timedelta(days=retention_days) if retention_days else None
        self._encoders = asyncio.Semaphore(encoders)
        # Recordings begun before this moment belong to an earlier run of this node.
        self._booted = datetime.now(UTC)
        self._in_flight: set[asyncio.Task[bool]] = set()
        self.on_ready: Callable[[str, str], None] | None = None  # (voiceId, recordingFileId) encoded

    async def started(self, voice_id: str, recording_id: str) -> None:
        """The call ``voice_id`` is being recorded as ``recording_id``."""
        found = await self._update(
            CallRecord.voice_id == voice_id,
            recording_file_id=recording_id,
            recording_status=RecordingStatus.RECORDING.value,
            recording_started_at=datetime.now(UTC),
        )
        if not found:
            log.warning("recording %s started for an unknown call %s", recording_id, voice_id)

    async def finished(self, voice_id: str, raw: RawRecording) -> None:
        """The call's recording is complete in the spool: encode it (returns when it is done)."""
        found = await self._update(
            CallRecord.voice_id == voice_id,
            recording_file_id=raw.recording_id,
            recording_status=RecordingStatus.ENCODING.value,
            recording_started_at=raw.started_at,
        )
        if not found:
            log.warning(
                "recording %s finished for an unknown call %s; left in the spool", raw.recording_id, voice_id
            )
            return
        if await self._encode(raw) and self.on_ready is not None:
            self.on_ready(voice_id, raw.recording_id)

    async def recover(self) -> int:
        """Encode what an earlier run of this node left in the spool; returns how many became ready."""
        leftovers = await asyncio.to_thread(interrupted, self.spool) if self.spool.is_dir() else []
        todo: list[RawRecording] = []
        for raw in leftovers:
            status = await self._earlier_status(raw.recording_id)
            if status is None:
                # a call of this run, or another node's in a shared spool, or of no call at all
                log.info(
                    "recording %s in the spool left alone: not this node's earlier run's", raw.recording_id
                )
            elif status in _SETTLED:
                await asyncio.to_thread(discard, raw)  # encoded before the crash, not yet removed
            else:
                todo.append(raw)
        left = {raw.recording_id for raw in leftovers}
        for recording_id in await self._unfinished():
            if recording_id not in left:
                await self._fail(recording_id, "interrupted: the server stopped and left no audio")
        for raw in todo:
            await self._update(
                CallRecord.recording_file_id == raw.recording_id,
                recording_status=RecordingStatus.ENCODING.value,
            )
        recovered = sum(await asyncio.gather(*(self._encode(raw) for raw in todo)))
        if todo:
            log.info("recovered %d of %d interrupted recordings", recovered, len(todo))
        return recovered

    async def sweep(self, now: datetime) -> int:
        """Delete the mp3s that began before the retention period; returns how many."""
        if self.retention is None:
            return 0
        deleted = 0
        while True:
            batch = await self._expired(now - self.retention)
            for recording_id, path in batch:
                await asyncio.to_thread(self._delete_file, path)
                await self._update(
                    CallRecord.recording_file_id == recording_id,
                    recording_status=RecordingStatus.DELETED.value,
                    recording_path=None,
                )
            deleted += len(batch)
            if len(batch) < SWEEP_BATCH:
                break
        if deleted:
            log.info("deleted %d recordings older than %d days", deleted, self.retention.days)
        return deleted

    async def maintain(self, sweep_interval: float) -> None:
        """The node's background duty, until cancelled: recover, then sweep every ``sweep_interval`` s."""
        try:
            await self.recover()
        except Exception:  # the spool stays; the next start tries again
            log.exception("recovering interrupted recordings failed")
        while True:
            try:
                await self.sweep(datetime.now(UTC))
            except Exception:  # retried at the next interval
                log.exception("the recording retention sweep failed")
            await asyncio.sleep(sweep_interval)

    async def drain(self, grace: float) -> None:
        """Wait up to ``grace`` s for the encodings in progress (the node is stopping); what is
        not done stays in the spool for the next start."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)

    async def _encode(self, raw: RawRecording) -> bool:
        task = asyncio.create_task(self._encode_now(raw))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)  # a cancelled caller does not leave the record "encoding"

    async def _encode_now(self, raw: RawRecording) -> bool:
        if not RECORDING_ID.fullmatch(raw.recording_id):
            await self._fail(raw.recording_id, "the recording id cannot name a file")
            return False
        relative = mp3_path(raw.recording_id, raw.started_at)
        try:
            async with self._encoders:
                encoded = await asyncio.to_thread(self._encode_file, raw, self.directory / relative)
        except Exception as exc:  # whatever the encoder or the disk says, the record tells the user
            log.exception("recording %s could not be encoded", raw.recording_id)
            await self._fail(raw.recording_id, f"encoding failed: {exc}")
            return False
        await self._update(
            CallRecord.recording_file_id == raw.recording_id,
            recording_status=RecordingStatus.READY.value,
            recording_path=relative,
            recording_bytes=encoded.size_bytes,
            recording_millis=round(encoded.duration_seconds * 1000),
            recording_error=None,
        )
        try:
            await asyncio.to_thread(discard, raw)
        except OSError as exc:  # the mp3 is safe; the next start removes the spool (recover)
            log.warning("recording %s: the spool could not be removed: %s", raw.recording_id, exc)
        return True

    @staticmethod
    def _encode_file(raw: RawRecording, destination: Path) -> EncodedRecording:
        destination.parent.mkdir(parents=True, exist_ok=True)
        return encode_mp3(raw, destination)

    def _delete_file(self, relative: str | None) -> None:
        if relative is None:
            return
        path = self.directory / relative
        path.unlink(missing_ok=True)
        for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
            try:
                folder.rmdir()  # the day's (month's, year's) folder, once empty
            except OSError:
                break

    async def _fail(self, recording_id: str, reason: str) -> None:
        log.error("recording %s failed: %s", recording_id, reason)
        await self._update(
            CallRecord.recording_file_id == recording_id,
            recording_status=RecordingStatus.FAILED.value,
            recording_error=reason[:_ERROR_LENGTH],
        )

    async def _update(self, where: Any, **values: Any) -> bool:
        async with self._sessions() as session:
            result = await session.execute(update(CallRecord).where(where).values(**values))
            await session.commit()
        return bool(getattr(result, "rowcount", 0))

    async def _unfinished(self) -> list[str]:
        """This node's recordings that an earlier run left recording or encoding."""
        async with self._sessions() as session:
            found = await session.scalars(
                select(CallRecord.recording_file_id).where(
                    CallRecord.node == self._node,
                    CallRecord.recording_status.in_(_UNFINISHED),
                    CallRecord.recording_started_at < self._booted,
                )
            )
            return [recording_id for recording_id in found if recording_id is not None]

    async def _earlier_status(self, recording_id: str) -> str | None:
        """The recording's state if it is one of this node's from an earlier run, else None."""
        async with self._sessions() as session:
            status: str | None = await session.scalar(
                select(CallRecord.recording_status).where(
                    CallRecord.recording_file_id == recording_id,
                    CallRecord.node == self._node,
                    CallRecord.recording_started_at < self._booted,
                )
            )
        return status

    async def _expired(self, cutoff: datetime) -> Sequence[tuple[str, str | None]]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(CallRecord.recording_file_id, CallRecord.recording_path)
                .where(
                    CallRecord.recording_status == RecordingStatus.READY.value,
                    CallRecord.recording_started_at < cutoff,
                    CallRecord.node == self._node,
                )
                .limit(SWEEP_BATCH)
            )
            return [(recording_id, path) for recording_id, path in rows if recording_id is not None]
