"""Writing a call's record as it happens, and settling it at hang-up.

Each SIP event (callee invited, ringing, answered, DTMF) updates the record in the background,
coalesced so that a burst costs one write; the last write settles the call in one transaction:
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

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain import calls, rating
from sipline.domain.calls import Termination
from sipline.domain.rating import BillingPeriod, Rate
from sipline.store.models import Account, CallRecord, LedgerEntry

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
    """The ``CallObserver`` of one call: its record follows the call."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        terms: CallTerms,
        on_settled: Callable[[CallJournal], None],
    ) -> None:
        self._sessions = sessions
        self.terms = terms
        self._on_settled = on_settled
        self._pending: dict[str, Any] = {}
        self._writer: asyncio.Task[None] | None = None
        self._answer_time: datetime | None = None
        self._digits = ""
        self.settled = asyncio.Event()

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
        task = asyncio.create_task(self._settle(at, termination))
        task.add_done_callback(lambda _task: self._on_settled(self))

    # -- writing ---------------------------------------------------------------------------
    def _set(self, **fields: Any) -> None:
        self._pending.update(fields)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            fields, self._pending = self._pending, {}
            try:
                async with self._sessions() as session:
                    await session.execute(
                        update(CallRecord).where(CallRecord.voice_id == self.terms.voice_id).values(**fields)
                    )
                    await session.commit()
            except Exception:
                log.exception("call %s: record update failed; it is retried at hang-up", self.terms.voice_id)
                self._pending = fields | self._pending
                return

    async def _settle(self, at: datetime, termination: Termination) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)
        fields = self._pending | self._final(at, termination)
        self._pending = {}
        try:
            await settle(self._sessions, self.terms, fields)
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


async def settle(
    sessions: async_sessionmaker[AsyncSession], terms: CallTerms, fields: dict[str, Any]
) -> bool:
    """Close a record and move the money in one transaction; False if it was closed already."""
    async with sessions() as session:
        closed = await session.execute(
            update(CallRecord)
            .where(CallRecord.voice_id == terms.voice_id, CallRecord.hangup_time.is_(None))
            .values(**fields)
        )
        if closed.rowcount == 0:  # type: ignore[attr-defined]
            return False
        cost: Decimal = fields.get("cost") or Decimal(0)
        await _move_money(session, terms.account_id, terms.voice_id, terms.reserved, cost)
        await session.commit()
    return True


async def _move_money(
    session: AsyncSession, account_id: int, voice_id: str, reserved: Decimal, cost: Decimal
) -> None:
    if not reserved and not cost:
        return
    balance = await session.scalar(
        update(Account)
        .where(Account.id == account_id)
        # One bound amount: it takes the column's Money type (a second one would bind as a plain number).
        .values(balance=Account.balance + (reserved - cost))
        .returning(Account.balance)
    )
    if balance is None:  # the account was deleted meanwhile
        return
    if reserved:
        session.add(
            LedgerEntry(
                account_id=account_id, kind="release", amount=reserved, balance_after=balance + cost,
                reference=voice_id,
            )
        )  # fmt: skip
    if cost:
        session.add(
            LedgerEntry(
                account_id=account_id, kind="call", amount=-cost, balance_after=balance, reference=voice_id
            )
        )


async def close_interrupted(sessions: async_sessionmaker[AsyncSession], node: str, at: datetime) -> int:
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
                    CallRecord.rate,
                    CallRecord.bill_period,
                    CallRecord.currency,
                    CallRecord.quote_exchange,
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
        terms = CallTerms(
            voice_id=row.voice_id,
            account_id=row.account_id,
            rate=Rate("", row.rate or Decimal(0), BillingPeriod.parse(row.bill_period or "60+60")),
            reserved=row.reserved,
            currency=row.currency,
            quote_exchange=row.quote_exchange,
        )
        last_known = row.last_known if isinstance(row.last_known, datetime) else at
        fields = {
            "hangup_time": last_known,
            "call_duration": 0,
            "charged_duration": 0,
            "cost": Decimal(0),
            "base_cost": Decimal(0),
            "termination_code": "200" if row.answer_time is not None else "500",
            "termination_reason": calls.INTERRUPTED,
        }
        if await settle(sessions, terms, fields):
            closed += 1
    if closed:
        log.warning("closed %d call(s) interrupted by the last stop of node %s", closed, node)
    return closed
