"""The push outbox: events to deliver, written in the transaction of what they report.

A call's final report is written by ``write_reports``, which the ``CallWriter`` runs inside the
transaction that settles the calls (``CallWriter.in_settlement``): the report exists exactly when the
settled record does, whether the call ended normally, at a stop, or was closed after a crash. Its
body is rendered from the settled record then, so every try sends the same bytes.

A report of a call whose recording is still being encoded is held until the recording is ready (or
failed), at most ``recording_wait`` seconds (``hold_until``); after that it goes anyway, with its
recordingFileId, and getRecordingFileUrl tells the customer when the file can be fetched.

The opt-in extensions (``ringing``, ``answered``) are written as they happen by ``LiveEvents``, a
subscriber of the event stream, in small batches of their own: they are news, not records.

Event ids are ``msg_<voiceId>_<sequence>``: one event of each type per call, so a write repeated for
any reason cannot make a second one (the unique key), and receivers can use the id to deduplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.recordings import RecordingStatus
from sipline.events.domain import CalleeAnswered, CalleeRinging, CallEvent
from sipline.store.models import AppPush, CallRecord, PushOutbox

log = logging.getLogger("sipline.events")

OUTBOX: Table = PushOutbox.__table__  # type: ignore[assignment]

REPORT, RINGING, ANSWERED = "report", "ringing", "answered"
EVENT_TYPES = (REPORT, RINGING, ANSWERED)
SEQUENCE = {RINGING: 1, ANSWERED: 2, REPORT: 3}  # a call's events in the order they can happen
_SELECTED = {REPORT: AppPush.send_report, RINGING: AppPush.send_ringing, ANSWERED: AppPush.send_answered}
_UNFINISHED = (RecordingStatus.RECORDING.value, RecordingStatus.ENCODING.value)

PENDING, DELIVERING, DELIVERED, FAILED, DISABLED = "pending", "delivering", "delivered", "failed", "disabled"

ReportBody = Callable[[CallRecord, str, int], dict[str, Any]]  # record, event id, sequence
EventBody = Callable[[CallRecord, str, datetime, str, int], dict[str, Any]]  # ..., type, moment, ...


def event_id(voice_id: str, event_type: str) -> str:
    return f"msg_{voice_id}_{SEQUENCE[event_type]}"


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class Outbox:
    def __init__(
        self, report_body: ReportBody, event_body: EventBody, recording_wait: float, wake: Callable[[], None]
    ) -> None:
        self._report_body = report_body
        self._event_body = event_body
        self.recording_wait = timedelta(seconds=recording_wait)
        self.wake = wake  # the delivery worker's: new rows are due

    async def write_reports(self, session: AsyncSession, voice_ids: Sequence[str]) -> None:
        """In the settlement's transaction: the final report of each settled call whose app wants it."""
        records = await _pushed(session, voice_ids, REPORT)
        if not records:
            return
        now = datetime.now(UTC)
        rows = []
        for record in records:
            held = record.recording_status in _UNFINISHED and self.recording_wait > timedelta(0)
            body = self._report_body(record, event_id(record.voice_id, REPORT), SEQUENCE[REPORT])
            rows.append(_row(record, REPORT, body, now, now + self.recording_wait if held else None))
        await _insert(session, rows)
        # The rows are visible once the writer commits, a moment after this returns.
        asyncio.get_running_loop().call_later(0.02, self.wake)

    async def write_events(self, session: AsyncSession, happened: Sequence[tuple[str, str, datetime]]) -> int:
        """Extension events (voiceId, type, moment) of the apps that opted in; how many were written."""
        rows = []
        now = datetime.now(UTC)
        for event_type in (RINGING, ANSWERED):
            moments = {voice_id: at for voice_id, kind, at in happened if kind == event_type}
            if not moments:
                continue
            for record in await _pushed(session, list(moments), event_type):
                moment = moments[record.voice_id]
                the_id = event_id(record.voice_id, event_type)
                body = self._event_body(record, event_type, moment, the_id, SEQUENCE[event_type])
                rows.append(_row(record, event_type, body, now, None))
        if rows:
            await _insert(session, rows)
        return len(rows)


class LiveEvents:
    """Subscriber of the event stream: the callee's ringing and answer, written to the outbox for the
    apps that opted in, in batches (one transaction every ``interval`` s while events come).

    Most platforms have no app that opted in; whether any has is read at most every ``recheck``
    seconds (and at once after this node's ``PushService`` changed a selection: ``invalidate``), so
    that their batches cost no transaction. An opt-in made elsewhere (another node, the CLI) takes
    effect within ``recheck`` seconds.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        interval: float = 0.05,
        recheck: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self.interval = interval
        self.recheck = recheck
        self._clock = clock
        self._queue: list[tuple[str, str, datetime]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._opted_in: tuple[float, bool] | None = None  # (when read, whether any app opted in)

    def invalidate(self) -> None:
        """An app's selection changed: read it afresh before the next batch."""
        self._opted_in = None

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, CalleeRinging):
            self._queue.append((event.voice_id, RINGING, event.at))
        elif isinstance(event, CalleeAnswered):
            self._queue.append((event.voice_id, ANSWERED, event.at))
        else:
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._queue:
            await asyncio.sleep(self.interval)
            batch, self._queue = self._queue, []
            try:
                if not await self.anyone_opted_in():
                    continue
                async with self._sessions() as session:
                    written = await self._outbox.write_events(session, batch)
                    await session.commit()
            except Exception:  # news, not records: logged, the calls and their reports go on
                log.exception("%d push event(s) could not be written", len(batch))
            else:
                if written:
                    self._outbox.wake()

    async def drain(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def anyone_opted_in(self) -> bool:
        now = self._clock()
        known = self._opted_in
        if known is None or now - known[0] >= self.recheck:
            async with self._sessions() as session:
                wanted = await session.scalar(
                    select(AppPush.app_pk).where(or_(AppPush.send_ringing, AppPush.send_answered)).limit(1)
                )
            known = self._opted_in = (now, wanted is not None)
        return known[1]


async def _pushed(session: AsyncSession, voice_ids: Sequence[str], event_type: str) -> Sequence[CallRecord]:
    """The records among ``voice_ids`` whose app has a push endpoint that wants ``event_type``."""
    statement = (
        select(CallRecord)
        .join(AppPush, AppPush.app_pk == CallRecord.app_pk)
        .where(CallRecord.voice_id.in_(voice_ids), _SELECTED[event_type].is_(True))
    )
    return (await session.scalars(statement)).all()


def _row(
    record: CallRecord, event_type: str, body: dict[str, Any], now: datetime, hold: datetime | None
) -> dict[str, Any]:
    return {
        "event_id": body["eventId"],
        "app_pk": record.app_pk,
        "voice_id": record.voice_id,
        "sequence": body["sequence"],
        "event_type": event_type,
        "body": encode(body),
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "hold_until": hold,
        "created_at": now,
        "updated_at": now,
    }


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OUTBOX).on_conflict_do_nothing(index_elements=["event_id"])
    await session.execute(statement, rows)
