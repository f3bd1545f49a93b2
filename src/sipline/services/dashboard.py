"""The console dashboard's figures, each one aggregate SQL query (no record is loaded into Python).

"Today" and the days are the viewer's time zone's (UTC by default): the buckets' starts are worked out
here, in that zone, and the database puts each record in its bucket by comparing instants."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from sipline.services.auth import Caller
from sipline.store.models import Account, CallRecord


@dataclass(frozen=True)
class Today:
    calls: int
    answered: int
    average_duration: float  # seconds, over the answered calls
    spend: Decimal

    @property
    def answer_rate(self) -> float:
        return self.answered / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class HourBucket:
    hour: datetime  # the hour's start (UTC)
    answered: int
    failed: int


@dataclass(frozen=True)
class DayBucket:
    day: datetime  # the day's start: midnight in the viewer's zone (UTC)
    spend: Decimal


@dataclass(frozen=True)
class Dashboard:
    balance: Decimal
    currency: str
    today: Today
    hours: list[HourBucket]  # the last 24 hours, oldest first, every hour present
    days: list[DayBucket]  # the last 30 days, oldest first, every day present


class DashboardService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def dashboard(self, caller: Caller, now: datetime | None = None, zone: tzinfo = UTC) -> Dashboard:
        """The figures, with "today" and the days in `zone`."""
        local = (now or datetime.now(UTC)).astimezone(zone)
        this_hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        hour_starts = [this_hour - timedelta(hours=23 - step) for step in range(24)]
        today = local.date()
        day_starts = [
            datetime.combine(today - timedelta(days=29 - step), time(), zone).astimezone(UTC)
            for step in range(30)
        ]
        midnight, first_hour, first_day = day_starts[-1], hour_starts[0], day_starts[0]
        mine = CallRecord.account_id == caller.account_id
        answered = CallRecord.answer_time.is_not(None)
        async with self._sessions() as session:
            balance, currency = (
                await session.execute(
                    select(Account.balance, Account.currency).where(Account.id == caller.account_id)
                )
            ).one()
            today_row = (
                await session.execute(
                    select(
                        func.count(),
                        func.count(CallRecord.answer_time),
                        func.avg(case((answered, CallRecord.call_duration))),
                        func.sum(CallRecord.cost),
                    ).where(mine, CallRecord.submit_time >= midnight)
                )
            ).one()
            hour = _bucket(CallRecord.submit_time, hour_starts)
            per_hour = (
                await session.execute(
                    select(hour, func.count(CallRecord.answer_time), func.count())
                    .where(mine, CallRecord.submit_time >= first_hour)
                    .group_by(hour)
                )
            ).all()
            day = _bucket(CallRecord.submit_time, day_starts)
            per_day = (
                await session.execute(
                    select(day, func.sum(CallRecord.cost))
                    .where(mine, CallRecord.submit_time >= first_day)
                    .group_by(day)
                )
            ).all()
        by_hour = {int(key): (int(ok), int(total) - int(ok)) for key, ok, total in per_hour}
        hours = [HourBucket(start, *by_hour.get(step, (0, 0))) for step, start in enumerate(hour_starts)]
        by_day = {int(key): _money(spend) for key, spend in per_day}
        days = [DayBucket(start, by_day.get(step, _money(None))) for step, start in enumerate(day_starts)]
        calls, answered_today, average, spend = today_row
        return Dashboard(
            balance=balance,
            currency=currency,
            today=Today(int(calls), int(answered_today), float(average or 0), _money(spend)),
            hours=hours,
            days=days,
        )


def _bucket(column: InstrumentedAttribute[datetime], starts: list[datetime]) -> ColumnElement[int]:
    """Which of the consecutive intervals beginning at `starts` holds the time (its index; the last one
    is open-ended), computed by the database so that the grouping happens there. Comparing instants
    works in any time zone (and across daylight-saving changes) on every database."""
    whens = [(column < start, literal(index)) for index, start in enumerate(starts[1:])]
    return case(*whens, else_=literal(len(starts) - 1))


def _money(amount: Decimal | None) -> Decimal:
    """SUM over a Money column is typed Money (SQLAlchemy keeps the argument's type): an amount."""
    return Decimal("0.0000") if amount is None else amount
