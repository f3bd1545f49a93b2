"""Reading call records: one by voiceId, or pages of a time window (newest first)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.errors import parameter_error
from sipline.domain.paging import Page, PageRequest
from sipline.domain.time_window import TimeWindow
from sipline.domain.voice_id import is_voice_id
from sipline.services.auth import Caller
from sipline.store.models import CallRecord
from sipline.store.paging import fetch_page

# Every query's order, which index ix_call_records_account_submit_voice follows (migration 0013).
NEWEST_FIRST = (CallRecord.submit_time.desc(), CallRecord.voice_id.desc())


@dataclass(frozen=True)
class RecordFilter:
    window: TimeWindow
    group_name: str | None = None
    phone_name: str | None = None
    # The console's further filters (the voice API uses none of them).
    termination_code: str | None = None
    answered_only: bool = False
    min_duration: int | None = None  # seconds of conversation


class RecordService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], retention_days: int) -> None:
        self._sessions = sessions
        self.retention = timedelta(days=retention_days)

    async def get(self, caller: Caller, voice_id: str) -> CallRecord:
        if not is_voice_id(voice_id):
            raise parameter_error("voiceId must be the 19-digit id that sendSip answered")
        async with self._sessions() as session:
            record = await session.scalar(
                select(CallRecord).where(
                    CallRecord.voice_id == voice_id, CallRecord.account_id == caller.account_id
                )
            )
        if record is None:
            raise parameter_error(f"voiceId {voice_id} is not a call of this account")
        return record

    async def query(self, caller: Caller, where: RecordFilter, page: PageRequest) -> Page[CallRecord]:
        async with self._sessions() as session:  # voiceIds first: a deep page walks the index alone
            return await fetch_page(
                session, _filtered(caller, where), NEWEST_FIRST, page, key=CallRecord.voice_id
            )

    async def stream(
        self, caller: Caller, where: RecordFilter, batch: int = 500
    ) -> AsyncIterator[CallRecord]:
        """Every record of the filter, newest first, fetched in batches (a CSV export of any size
        holds one batch in memory)."""
        statement = _filtered(caller, where).order_by(*NEWEST_FIRST)
        async with self._sessions() as session:
            result = await session.stream_scalars(statement.execution_options(yield_per=batch))
            async for record in result:
                yield record

    def now(self) -> datetime:
        return datetime.now(UTC)


def _filtered(caller: Caller, where: RecordFilter) -> Select[CallRecord]:
    statement = select(CallRecord).where(
        CallRecord.account_id == caller.account_id,
        CallRecord.submit_time >= where.window.start,
        CallRecord.submit_time <= where.window.end,
    )
    if where.group_name is not None:
        statement = statement.where(CallRecord.group_name == where.group_name)
    if where.phone_name is not None:
        statement = statement.where(CallRecord.phone_name == where.phone_name)
    if where.termination_code is not None:
        statement = statement.where(CallRecord.termination_code == where.termination_code)
    if where.answered_only:
        statement = statement.where(CallRecord.answer_time.is_not(None))
    if where.min_duration is not None:
        statement = statement.where(CallRecord.call_duration >= where.min_duration)
    return statement
