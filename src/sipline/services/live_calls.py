"""Calls in progress on this node, as the console shows them, and hanging one up (console and the
voice API's hangup extension)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.calls.send_sip import CallService
from sipline.domain.errors import parameter_error
from sipline.domain.voice_id import is_voice_id
from sipline.services.auth import Caller
from sipline.store.models import Account, CallRecord

HUNG_UP_BY_REQUEST = "hung up on request (console or voice API)"


class CallState(StrEnum):
    PHONE_RINGING = "phone ringing"
    CALLEE_INVITED = "calling callee"
    CALLEE_RINGING = "callee ringing"
    TALKING = "talking"
    ENDED = "ended"


@dataclass(frozen=True)
class LiveCall:
    voice_id: str
    api_key: str
    group_name: str
    phone_name: str
    phone_account: str
    callee: str
    state: CallState
    submit_time: datetime
    answer_time: datetime | None


def state_of(record: CallRecord) -> CallState:
    """Where a call is, from its record's times."""
    if record.hangup_time is not None:
        return CallState.ENDED
    if record.answer_time is not None:
        return CallState.TALKING
    if record.ringing_time is not None:
        return CallState.CALLEE_RINGING
    if record.call_time is not None:
        return CallState.CALLEE_INVITED
    return CallState.PHONE_RINGING


class LiveCalls:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], calls: CallService) -> None:
        self._sessions = sessions
        self._calls = calls

    async def list(self, caller: Caller | None) -> list[LiveCall]:
        """The calls this node is placing: the caller's, or (None: an operator) everyone's."""
        voice_ids = list(self._calls.active)[:1000]  # bounded: a page of an operator's screen
        if not voice_ids:
            return []
        statement = (
            select(CallRecord, Account.api_key)
            .join(Account, CallRecord.account_id == Account.id)
            .where(CallRecord.voice_id.in_(voice_ids), CallRecord.hangup_time.is_(None))
            .order_by(CallRecord.submit_time.desc())
        )
        if caller is not None:
            statement = statement.where(CallRecord.account_id == caller.account_id)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [
            LiveCall(
                record.voice_id,
                api_key,
                record.group_name,
                record.phone_name,
                record.phone_account,
                record.callee,
                state_of(record),
                record.submit_time,
                record.answer_time,
            )
            for record, api_key in rows
        ]

    async def hang_up(self, caller: Caller | None, voice_id: str) -> None:
        """End a call in progress (of the caller's account unless an operator asks); -22 when there
        is no such call of theirs in progress here."""
        if not is_voice_id(voice_id):
            raise parameter_error("voiceId must be the 19-digit id that sendSip answered")
        active = self._calls.active.get(voice_id)
        if active is not None and caller is not None:
            async with self._sessions() as session:
                owner = await session.scalar(
                    select(CallRecord.account_id).where(CallRecord.voice_id == voice_id)
                )
            if owner != caller.account_id:
                active = None
        if active is None:
            raise parameter_error(f"voiceId {voice_id} is not a call of this account in progress")
        active.call.hang_up(HUNG_UP_BY_REQUEST)
