"""Writing a call's record as it happens, and settling it at hang-up.

Each SIP event (callee invited, ringing, answered, DTMF) updates the record through the CallWriter
(group commits, coalesced per call); the last write settles the call in one transaction:
final timings and termination, the rated cost (billing/rating.py's one rounding point), the
reservation given back, the cost debited, both as ledger rows.

For a crash, the record also keeps the call's last known activity (``last_activity``: written with
every SIP event of the call, and by the node's heartbeat while the call is up), and each leg's dialog
once established (``call_dialogs``). A record whose node stopped before its last write is closed at
the node's next start (``close_interrupted``): ended at its last known activity, charged and paid
like any call up to there, and both legs are sent BYE (calls/dialogs.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sipline.billing import rating
from sipline.billing.rating import BillingPeriod, Rate
from sipline.billing.reservations import CallReservation, seconds_paid
from sipline.calls.dialogs import row_of
from sipline.calls.writer import CallWriter, Settlement
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.sip.stored_dialog import StoredDialog
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
        self,
        writer: CallWriter,
        terms: CallTerms,
        on_settled: Callable[[CallJournal], None],
        reservation: CallReservation | None = None,
    ) -> None:
        self._writer = writer
        self.terms = terms
        self.reservation = reservation  # extends what the call holds as it goes (billing/reservations.py)
        self._on_settled = on_settled
        self._answer_time: datetime | None = None
        self._digits = ""
        self._activity: datetime | None = None  # the last moment the call was known to be up
        self._activity_written: datetime | None = None
        self._ended = False
        self.settled = asyncio.Event()
        self.termination: Termination | None = None  # once the call has ended

    # -- CallObserver ------------------------------------------------------------------------
    def callee_invited(self, at: datetime) -> None:
        self._set(call_time=at)

    def callee_ringing(self, at: datetime) -> None:
        self._set(ringing_time=at)

    def callee_answered(self, at: datetime) -> None:
        self._answer_time = at
        self._activity = at
        self._set(answer_time=at)
        if self.reservation is not None:
            self.reservation.answered(at)

    def dtmf(self, digit: str) -> None:
        if len(self._digits) < MAX_FEEDBACK:
            self._digits += digit
            self._set(feedback_value=self._digits)

    def leg_dialog(self, leg: str, dialog: StoredDialog, at: datetime) -> None:
        """A leg's dialog, established or changed by an in-dialog request at ``at`` (a SIP event)."""
        if self._ended:
            return
        self._writer.dialog(row_of(self.terms.voice_id, leg, dialog))
        self.activity(at)
        self.write_activity()

    def activity(self, at: datetime) -> None:
        """The call was up at ``at`` (SIP, the B2BUA's heartbeat, media): remembered in memory only,
        cheap enough for every media packet; written by ``write_activity`` or the next SIP event."""
        if (
            self._answer_time is not None
            and not self._ended
            and (self._activity is None or at > self._activity)
        ):
            self._activity = at

    def write_activity(self) -> None:
        """Write the last activity, unless it was written already (the heartbeat calls this)."""
        if self._activity is not None and self._activity != self._activity_written and not self._ended:
            self._activity_written = self._activity
            self._set(last_activity=self._activity)

    def ended(self, at: datetime, termination: Termination) -> None:
        self._ended = True
        self.termination = termination
        task = asyncio.create_task(self._settle(at, termination))
        task.add_done_callback(lambda _task: self._on_settled(self))

    # -- writing ---------------------------------------------------------------------------
    def _set(self, **fields: Any) -> None:
        self._writer.update(self.terms.voice_id, fields)

    async def _settle(self, at: datetime, termination: Termination) -> None:
        terms = self.terms
        reserved = terms.reserved if self.reservation is None else await self.reservation.stop()
        fields = self._final(at, termination, reserved)
        try:
            await self._writer.settle(Settlement(terms.voice_id, terms.account_id, reserved, fields))
        except Exception:
            log.exception("call %s: settling failed; closed at the next start", self.terms.voice_id)
        finally:
            self.settled.set()

    def _final(self, at: datetime, termination: Termination, reserved: Decimal) -> dict[str, Any]:
        terms = self.terms
        return final_fields(
            terms.rate, terms.currency, terms.quote_exchange, self._answer_time, at, termination, reserved
        )


def final_fields(
    rate: Rate,
    currency: str,
    quote_exchange: Decimal | None,
    answer_time: datetime | None,
    at: datetime,
    termination: Termination,
    reserved: Decimal | None = None,
) -> dict[str, Any]:
    """A call's final record fields: timings, termination, and the cost rated (billing/rating.py).

    With ``reserved``, the call is taken to have lasted at most what that paid: a call is cut when
    its reserved money is used up (billing/reservations.py), so only a late timer (an event loop
    stalled past a whole second) or a crash could make it longer, and it never costs more."""
    answered = answer_time is not None
    duration = calls.call_duration(answer_time, at)
    paid = None if reserved is None else seconds_paid(rate, reserved)
    if paid is not None and duration > paid:
        duration = paid
    charged = rating.charge(rate, duration, answered)
    fields: dict[str, Any] = {
        "hangup_time": at,
        "call_duration": duration,
        "charged_duration": charged.charged_seconds,
        "termination_code": termination.code,
        "termination_reason": termination.reason[:256],
        "cost": charged.cost,
        "base_cost": rating.base_cost(rate, charged.charged_seconds),
    }
    if currency != USD and quote_exchange:
        settlement = rating.settle(rate.per_minute, charged.cost, quote_exchange)
        fields |= {"settle_rate": settlement.settle_rate, "settle_pay": settlement.settle_pay}
    return fields


@dataclass(frozen=True)
class InterruptedCall:
    """A record this node left open (crash, kill), as read back at its next start."""

    voice_id: str
    account_id: int
    reserved: Decimal
    rate: Rate | None  # None: the record has no usable terms (nothing is charged)
    currency: str
    quote_exchange: Decimal | None
    answer_time: datetime | None
    last_known: datetime | None  # the latest of its activity and its SIP times

    def settlement(self, now: datetime) -> Settlement:
        """Ended at its last known activity, charged up to there; the reason says what happened."""
        termination = Termination("200" if self.answer_time is not None else "500", calls.INTERRUPTED)
        hangup = self.last_known or now
        rate = self.rate or Rate("", Decimal(0), BillingPeriod(1, 1))
        fields = final_fields(
            rate, self.currency, self.quote_exchange, self.answer_time, hangup, termination, self.reserved
        )
        return Settlement(self.voice_id, self.account_id, self.reserved, fields)


async def interrupted_calls(session: AsyncSession, node: str) -> list[InterruptedCall]:
    """This node's records left open by a stop that could not end the calls."""
    rows = await session.scalars(
        select(CallRecord).where(CallRecord.node == node, CallRecord.hangup_time.is_(None))
    )
    return [
        InterruptedCall(
            voice_id=row.voice_id,
            account_id=row.account_id,
            reserved=row.reserved,
            rate=_rate_of(row),
            currency=row.currency,
            quote_exchange=row.quote_exchange,
            answer_time=row.answer_time,
            last_known=calls.last_known(
                row.submit_time, row.call_time, row.ringing_time, row.answer_time, row.last_activity
            ),
        )
        for row in rows
    ]


def _rate_of(row: CallRecord) -> Rate | None:
    if row.rate is None or row.bill_period is None:
        return None
    try:
        period = BillingPeriod.parse(row.bill_period)
    except ValueError:
        return None
    return Rate("", row.rate, period, row.base_rate, row.connect_fee or Decimal(0))


async def settle_interrupted(
    writer: CallWriter, interrupted: list[InterruptedCall], node: str, at: datetime
) -> int:
    """Close the records a crash left open (settled together, in the writer's batches); how many."""
    outcomes = await asyncio.gather(*(writer.settle(call.settlement(at)) for call in interrupted))
    closed = sum(outcomes)
    if closed:
        log.warning("closed %d call(s) interrupted by the last stop of node %s", closed, node)
    return closed
