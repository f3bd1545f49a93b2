"""Writing a call's record as it happens, and settling it at hang-up.

Each SIP event (callee invited, ringing, answered, DTMF) updates the record through the CallWriter
(group commits, coalesced per call); the last write settles the call in one transaction:
final timings and termination, the rated cost (domain/rating.py's one rounding point), the
reservation given back, the cost debited, both as ledger rows. A record whose node stopped before
that last write is closed at the node's next start (``close_interrupted``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain import calls, rating
from sipline.domain.calls import Termination
from sipline.domain.rating import Rate
from sipline.services.call_writer import CallWriter, Settlement
from sipline.store.models import CallRecord

log = logging.getLogger("sipline.calls")

USD = "USD"
MAX_FEEDBACK = 64  # feedbackValue column width


@dataclass(frozen=True)
class CallTerms:
    """What was fixed when the call was accepted: who pays, at which rate, what was reserved."""

    voice_id: str
    account_id: int
    rate: Rate
    reserved: Decimal
    currency: str
    quote_exchange: Decimal | None


class CallJournal:
    """The ``CallObserver`` of one call: its record follows the call, through the ``CallWriter``."""

    def __init__(
        self, writer: CallWriter, terms: CallTerms, on_settled: Callable[[CallJournal], None]
    ) -> None:
        self._writer = writer
        self.terms = terms
        self._on_settled = on_settled
        self._answer_time: datetime | None = None
        self._digits = ""
        self.settled = asyncio.Event()
        self.termination: Termination | None = None  # once the call has ended

    # -- CallObserver ------------------------------------------------------------------------
    def callee_invited(self, at: datetime) -> None:
        self._set(call_time=at)

    def callee_ringing(self, at: datetime) -> None:
        self._set(ringing_time=at)

    def callee_answered(self, at: datetime) -> None:
        self._answer_time = at
        self._set(answer_time=at)

    def dtmf(self, digit: str) -> None:
        if len(self._digits) < MAX_FEEDBACK:
            self._digits += digit
            self._set(feedback_value=self._digits)

    def ended(self, at: datetime, termination: Termination) -> None:
        self.termination = termination
        task = asyncio.create_task(self._settle(at, termination))
        task.add_done_callback(lambda _task: self._on_settled(self))

    # -- writing ---------------------------------------------------------------------------
    def _set(self, **fields: Any) -> None:
        self._writer.update(self.terms.voice_id, fields)

    async def _settle(self, at: datetime, termination: Termination) -> None:
        fields = self._final(at, termination)
        terms = self.terms
        try:
            await self._writer.settle(Settlement(terms.voice_id, terms.account_id, terms.reserved, fields))
        except Exception:
            log.exception("call %s: settling failed; closed at the next start", self.terms.voice_id)
        finally:
            self.settled.set()

    def _final(self, at: datetime, termination: Termination) -> dict[str, Any]:
        terms = self.terms
        answered = self._answer_time is not None
        duration = calls.call_duration(self._answer_time, at)
        charged = rating.charge(terms.rate, duration, answered)
        fields: dict[str, Any] = {
            "hangup_time": at,
            "call_duration": duration,
            "charged_duration": charged.charged_seconds,
            "termination_code": termination.code,
            "termination_reason": termination.reason[:256],
            "cost": charged.cost,
            "base_cost": rating.base_cost(terms.rate, charged.charged_seconds),
        }
        if terms.currency != USD and terms.quote_exchange:
            settlement = rating.settle(terms.rate.per_minute, charged.cost, terms.quote_exchange)
            fields |= {"settle_rate": settlement.settle_rate, "settle_pay": settlement.settle_pay}
        return fields


async def close_interrupted(
    sessions: async_sessionmaker[AsyncSession], writer: CallWriter, node: str, at: datetime
) -> int:
    """Close this node's records left open by a stop that could not end the calls (crash, kill).

    Nothing is known of when they ended: hangupTime is the last time known of the call, nothing
    is charged, the reservation is given back, and the reason says what happened.
    """
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    CallRecord.voice_id,
                    CallRecord.account_id,
                    CallRecord.reserved,
                    func.coalesce(
                        CallRecord.answer_time,
                        CallRecord.ringing_time,
                        CallRecord.call_time,
                        CallRecord.submit_time,
                    ).label("last_known"),
                    CallRecord.answer_time,
                ).where(CallRecord.node == node, CallRecord.hangup_time.is_(None))
            )
        ).all()
    closed = 0
    for row in rows:
        fields = {
            "hangup_time": row.last_known if isinstance(row.last_known, datetime) else at,
            "call_duration": 0,
            "charged_duration": 0,
            "cost": Decimal(0),
            "base_cost": Decimal(0),
            "termination_code": "200" if row.answer_time is not None else "500",
            "termination_reason": calls.INTERRUPTED,
        }
        if await writer.settle(Settlement(row.voice_id, row.account_id, row.reserved, fields)):
            closed += 1
    if closed:
        log.warning("closed %d call(s) interrupted by the last stop of node %s", closed, node)
    return closed
