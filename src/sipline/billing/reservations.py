"""The money a call holds, following the call: reserve before, settle after (GUIDE section 3).

At acceptance the first billing period is taken from the balance (calls/writer.py, with the record).
Once the callee answers, ``CallReservation`` keeps the call paid ahead: ``lead`` seconds before the
reserved money is used up it reserves the next chunk, the billing steps that cover ``chunk_seconds``
(30 s by default: one step of a 30+30 or 60+60 deck, thirty of a 1+1 one). Each extension is one
conditional UPDATE in the writer's next batch (never below zero) with a ``reserve`` ledger row, and the
record's ``reserved`` grows with it, so a crash recovery releases every chunk. When the chunk does not
fit, a single billing step is tried; when that does not fit either, the call is cut exactly when the
reserved money is used up (``domain/calls.balance_exhausted``).

So the sum of an account's open reservations is always out of its balance, every live call pays its
next seconds from what is left, and however many calls run at once the balance never goes below zero.
The chunk trades money held against writes: a 30 s chunk is one write per call every 30 s, and at most
30 s of talk per call is held beyond what the call will use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sipline.billing.rating import Rate, affordable_seconds, charge, round_money
from sipline.domain import calls

log = logging.getLogger("sipline.billing")

CHUNK_SECONDS = 10
LEAD_SECONDS = 3.0  # the next chunk is asked for this long before the reserved money runs out

# Reserve ``amount`` more for the call, taken from the account's balance; False when it does not fit.
Extend = Callable[[Decimal], Awaitable[bool]]


def chunk_cost(rate: Rate, seconds: int = CHUNK_SECONDS) -> Decimal:
    """What the whole billing steps covering ``seconds`` cost (at least one step)."""
    steps = max(1, math.ceil(seconds / rate.period.next))
    return round_money(rate.per_minute * steps * rate.period.next / 60)


def step_cost(rate: Rate) -> Decimal:
    return chunk_cost(rate, 1)


def seconds_paid(rate: Rate, money: Decimal) -> int | None:
    """The longest answered call ``money`` pays at ``rate`` (its rated cost at most ``money``); None:
    the rate is free. ``affordable_seconds`` ignores that the cost is rounded once, half-up: a step
    whose exact cost is a fraction of a unit above the money may still round to it."""
    paid = affordable_seconds(rate, money)
    if paid is None:
        return None
    step = rate.period.first if paid == 0 else rate.period.next
    while charge(rate, paid + step, True).cost <= money:  # at most a step or two
        paid += step
        step = rate.period.next
    return paid


class CallReservation:
    """One call's reservation: what it holds (``total``) and, once answered, the task extending it."""

    def __init__(
        self,
        rate: Rate,
        reserved: Decimal,
        extend: Extend,
        *,
        chunk_seconds: int = CHUNK_SECONDS,
        lead_seconds: float = LEAD_SECONDS,
    ) -> None:
        self.rate = rate
        self.total = reserved  # taken from the balance for this call so far
        self._extend = extend
        self._chunk = chunk_cost(rate, chunk_seconds)
        self._step = step_cost(rate)
        self._lead = lead_seconds
        self.cut: Callable[[str], None] = _nowhere  # hangs the call up (ClickToCall.hang_up)
        self._task: asyncio.Task[None] | None = None
        self._pending: asyncio.Future[bool] | None = None  # an extension being written
        self._stopped = False

    def paid_seconds(self) -> int | None:
        """How long an answered call may last on what is reserved; None: the rate is free."""
        return seconds_paid(self.rate, self.total)

    def answered(self, at: datetime) -> None:
        """The callee answered at ``at``: keep the call paid ahead from now on."""
        if self._task is None and not self._stopped and self.paid_seconds() is not None:
            self._task = asyncio.create_task(self._follow(at))

    async def stop(self) -> Decimal:
        """The call ended: no more extensions; what it holds (an extension under way included)."""
        self._stopped = True
        self.cut = _nowhere  # the call is over; and no reference cycle back to it is left
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._pending is not None:
            with contextlib.suppress(Exception):  # the write failed: nothing taken (logged by _taken)
                await asyncio.shield(self._pending)
        return self.total

    async def _follow(self, answer: datetime) -> None:
        while True:
            paid = self.paid_seconds()
            if paid is None:
                return
            runs_out = answer + timedelta(seconds=paid)
            await _sleep_until(runs_out - timedelta(seconds=self._lead))
            if not await self._reserve(self._chunk) and not await self._reserve(self._step):
                await _sleep_until(runs_out)
                log.info("call cut: the balance ran out after %d s paid (%s reserved)", paid, self.total)
                self.cut(calls.balance_exhausted(paid))
                return

    async def _reserve(self, amount: Decimal) -> bool:
        if amount <= 0:
            return True
        pending = asyncio.ensure_future(self._extend(amount))
        # Counted when written, not when this task resumes: a stop may have cancelled the task.
        pending.add_done_callback(lambda done: self._taken(done, amount))
        self._pending = pending
        try:
            return await asyncio.shield(pending)  # a stop waits for it rather than cancel it
        except Exception:
            return False

    def _taken(self, done: asyncio.Future[bool], amount: Decimal) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            log.warning("a reservation extension failed; nothing was taken", exc_info=done.exception())
        elif done.result():
            self.total += amount


async def _sleep_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def _nowhere(_reason: str) -> None:
    pass
