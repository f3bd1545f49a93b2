"""The console dashboard's figures, each one aggregate SQL query (no record is loaded into Python)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, select
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
    hour: datetime  # the hour's start, UTC
    answered: int
    failed: int


@dataclass(frozen=True)
class DayBucket:
    day: datetime  # the day's start, UTC
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

    async def dashboard(self, caller: Caller, now: datetime | None = None) -> Dashboard:
        now = now or datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        first_hour = this_hour - timedelta(hours=23)
        first_day = midnight - timedelta(days=29)
        mine = CallRecord.account_id == caller.account_id
        answered = CallRecord.answer_time.is_not(None)
        async with self._sessions() as session:
            balance, currency = (
                await session.execute(
                    select(Account.balance, Account.currency).where(Account.id == caller.account_id)
                )
            ).one()
            today = (
                await session.execute(
                    select(
                        func.count(),
                        func.count(CallRecord.answer_time),
                        func.avg(case((answered, CallRecord.call_duration))),
                        func.sum(CallRecord.cost),
                    ).where(mine, CallRecord.submit_time >= midnight)
                )
            ).one()
            hour = _bucket(session, CallRecord.submit_time, 13)
            per_hour = (
                await session.execute(
                    select(hour, func.count(CallRecord.answer_time), func.count())
                    .where(mine, CallRecord.submit_time >= first_hour)
                    .group_by(hour)
                )
            ).all()
            day = _bucket(session, CallRecord.submit_time, 10)
            per_day = (
                await session.execute(
                    select(day, func.sum(CallRecord.cost))
                    .where(mine, CallRecord.submit_time >= first_day)
                    .group_by(day)
                )
            ).all()
        by_hour = {key: (int(ok), int(total) - int(ok)) for key, ok, total in per_hour}
        hours = []
        for step in range(24):
            start = first_hour + timedelta(hours=step)
            ok, failed = by_hour.get(start.strftime("%Y-%m-%d %H"), (0, 0))
            hours.append(HourBucket(start, ok, failed))
        by_day = {key: _money(spend) for key, spend in per_day}
        days = []
        for step in range(30):
            start = first_day + timedelta(days=step)
            days.append(DayBucket(start, by_day.get(start.strftime("%Y-%m-%d"), _money(None))))
        calls, answered_today, average, spend = today
        return Dashboard(
            balance=balance,
            currency=currency,
            today=Today(int(calls), int(answered_today), float(average or 0), _money(spend)),
            hours=hours,
            days=days,
        )


def _bucket(session: AsyncSession, column: InstrumentedAttribute[datetime], width: int) -> ColumnElement[str]:
    """The UTC time as text cut to its first `width` characters ("YYYY-MM-DD HH" or "YYYY-MM-DD"),
    computed by the database so that the grouping happens there."""
    if session.get_bind().dialect.name == "sqlite":  # stored as naive UTC text, "YYYY-MM-DD HH:MM:SS..."
        return func.substr(column, 1, width)
    pattern = "YYYY-MM-DD HH24" if width == 13 else "YYYY-MM-DD"
    return func.to_char(func.timezone("UTC", column), pattern)


def _money(amount: Decimal | None) -> Decimal:
    """SUM over a Money column is typed Money (SQLAlchemy keeps the argument's type): an amount."""
    return Decimal("0.0000") if amount is None else amount
