"""Recording an answered call: where its recordings go (``RecordingSink``) and one call's recording.

The sink is the recordings service (it keeps the recordingFileId with the call's record and encodes
the mp3); its ``finished`` runs in the background, so a call's end never waits for the encoding.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol
from uuid import uuid4

from sipline.calls.background import BackgroundTasks
from sipline.media.port import MediaError, MediaSession, RawRecording

log = logging.getLogger("sipline.calls")


class RecordingSink(Protocol):
    async def started(self, voice_id: str, recording_id: str) -> None:
        """The call ``voice_id`` is being recorded as ``recording_id`` (the recordingFileId)."""

    async def finished(self, voice_id: str, raw: RawRecording) -> None:
        """The recording is complete on disk: encode and keep it."""


class CallRecording:
    """One call's recording: started at the answer, stopped (and handed to the sink) at its end."""

    def __init__(self, sink: RecordingSink, voice_id: str, tasks: BackgroundTasks) -> None:
        self._sink = sink
        self._voice_id = voice_id
        self._tasks = tasks
        self._started: asyncio.Future[None] | None = None
        self.recording_id: str | None = None

    def start(self, session: MediaSession) -> None:
        if self.recording_id is not None:
            return
        recording_id = str(uuid4())
        try:
            session.start_recording(recording_id)
        except MediaError as exc:
            log.warning("call %s: not recorded: %s", self._voice_id, exc)
            return
        self.recording_id = recording_id
        self._started = asyncio.ensure_future(self._sink.started(self._voice_id, recording_id))

    def stop(self, session: MediaSession) -> None:
        """Stop recording (the files are complete) and give them to the sink in the background."""
        started, self._started = self._started, None
        if started is None:
            return
        try:
            raw = session.stop_recording()
        except MediaError as exc:
            log.warning("call %s: recording not finished: %s", self._voice_id, exc)
            raw = None
        self._tasks.spawn(self._finish(started, raw))

    async def _finish(self, started: asyncio.Future[None], raw: RawRecording | None) -> None:
        try:
            await started  # the sink hears of the recording before it hears it is finished
            if raw is not None:
                await self._sink.finished(self._voice_id, raw)
        except Exception:
            log.exception("call %s: the recording %s was not kept", self._voice_id, self.recording_id)
