"""Giving recordings out: a signed, expiring link for one of the caller's recordings
(getRecordingFileUrl), and the mp3 file behind a link that checks out (the download route).

What a user is told when there is no mp3 to give (docs/api.md, getRecordingFileUrl):
``-22`` no such recording of this account; ``-21`` not ready yet (the call is still recorded, or
being encoded: ask again in a few seconds); ``-18`` recording failed, there is no file; ``-25`` the
mp3 was deleted at the end of the retention period.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.recordings import RECORDING_ID, LinkSigner, RecordingStatus
from sipline.domain.status import Status
from sipline.services.auth import Caller
from sipline.store.models import CallRecord

log = logging.getLogger("sipline.recordings")


@dataclass(frozen=True)
class RecordingLink:
    recording_id: str
    expires: int  # epoch seconds
    signature: str


class RecordingLinks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        recording_dir: Path,
        signer: LinkSigner,
        ttl: int,
        retention_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._directory = recording_dir
        self._signer = signer
        self._ttl = ttl
        self._retention_days = retention_days
        self._clock = clock

    async def link(self, caller: Caller, recording_id: str) -> RecordingLink:
        """A link to the caller's recording, valid for the configured time; ApiError when there is
        no file to give (the reason says why)."""
        if not RECORDING_ID.fullmatch(recording_id):
            raise parameter_error(
                "recordingFileId must be the id a call record shows (at most 64 characters)"
            )
        async with self._sessions() as session:
            record = await session.scalar(
                select(CallRecord).where(
                    CallRecord.recording_file_id == recording_id, CallRecord.account_id == caller.account_id
                )
            )
        if record is None:
            raise parameter_error(f"recordingFileId {recording_id} is not a recording of this account")
        self._ready_file(record)
        expires = math.ceil(self._clock()) + self._ttl
        return RecordingLink(recording_id, expires, self._signer.sign(recording_id, expires))

    async def file(self, recording_id: str, expires: str, signature: str) -> Path:
        """The mp3 a link names, if the link is one the platform gave and has not expired."""
        if not (
            RECORDING_ID.fullmatch(recording_id)
            and expires.isascii()
            and expires.isdigit()
            and len(expires) <= 13
            and self._signer.valid(recording_id, int(expires), signature, self._clock())
        ):
            raise ApiError(Status.AUTH_FAILED, "the recording link is not valid or has expired", 403)
        async with self._sessions() as session:
            record = await session.scalar(
                select(CallRecord).where(CallRecord.recording_file_id == recording_id)
            )
        if record is None:
            raise ApiError(Status.PARAMETER_ERROR, "the recording no longer exists", 404)
        try:
            return self._ready_file(record)
        except ApiError as exc:  # deleted since the link was given (retention): gone for good
            raise ApiError(exc.status, exc.reason, 410) from None

    def _ready_file(self, record: CallRecord) -> Path:
        recording_id = record.recording_file_id
        status = record.recording_status
        if status in (RecordingStatus.RECORDING, RecordingStatus.ENCODING):
            doing = "recorded" if status == RecordingStatus.RECORDING else "encoded"
            raise ApiError(
                Status.FILE_INVALID,
                f"recording {recording_id} is not ready: the call is still being {doing}; "
                "ask again in a few seconds",
            )
        if status == RecordingStatus.DELETED:
            raise ApiError(
                Status.OUT_OF_TIME_RANGE,
                f"recording {recording_id} was deleted at the end of the retention period "
                f"({self._retention_days} days)",
            )
        path = self._directory / record.recording_path if record.recording_path else None
        if status == RecordingStatus.READY and path is not None and path.is_file():
            return path
        if status == RecordingStatus.READY:
            log.error("recording %s is ready but its file %s is missing", recording_id, path)
        raise ApiError(
            Status.SYSTEM_ERROR,
            f"recording {recording_id} failed and has no file ({record.recording_error or 'file missing'})",
        )
