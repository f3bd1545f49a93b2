"""The bench's call records: a month of realistic traffic for two accounts, inserted in bulk, and kept
between runs (the database is the cache: a seed that matches what is asked for is used again).

Records are made from a seeded random generator, so two seeds of the same size hold the same calls.
They go in through the store's own model (`CallRecord.__table__`): on SQLite with Core executemany in
batches, on PostgreSQL with COPY (asyncpg's binary copy), the Money and UtcDateTime columns converted
by their own `process_bind_param`, so the rows are exactly what the platform writes.
"""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import TypeDecorator, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sipline.bootstrap import Platform
from sipline.store.models import Account, App, CallRecord, ConsoleUser

BATCH = 10_000
DAYS = 30
# A seed older than this is made again: its windows would leave the records' retention period.
MAX_SEED_AGE = timedelta(days=7)
PASSWORD = "bench console password"
RATE = Decimal("0.0120")  # per minute
FAILURES = (  # termination code, reason, weight
    ("486", "busy here", 8),
    ("487", "the callee did not answer", 14),
    ("480", "temporarily unavailable", 6),
    ("404", "not found", 3),
    ("503", "service unavailable", 2),
)
ANSWERED_REASONS = ("the callee hung up", "the phone hung up")
# Calls per hour of the day (UTC), office traffic: quiet nights, a morning and an afternoon peak.
HOURLY = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 16, 12, 15, 18, 17, 14, 10, 6, 4, 3, 2, 1, 1)


@dataclass(frozen=True)
class BenchAccount:
    """One seeded account: its credentials, console user, groups and the newest record's time."""

    label: str
    api_key: str
    api_secret: str
    email: str
    records: int
    groups: tuple[str, ...]
    newest: datetime


def _credentials(label: str, records: int) -> tuple[str, str, str]:
    """Fixed per label and size, so a cached seed is found again and its secret still signs."""
    return (
        f"bench-{label}-{records}",
        f"bench-secret-{label}-{records}",
        f"bench-{label}-{records}@console.bench",
    )


def _groups(label: str) -> tuple[str, ...]:
    return tuple(f"{label}Group{n}" for n in range(12))


async def prepare(platform: Platform, records: int, baseline: int, reseed: bool) -> list[BenchAccount]:
    """The two accounts with their records, seeded now unless the database already holds this seed."""
    accounts = []
    for label, count in (("big", records), ("small", baseline)):
        api_key, secret, email = credentials = _credentials(label, count)
        newest = None if reseed else await _cached(platform, api_key, count)
        if newest is None:
            started = time.perf_counter()
            await _drop(platform, api_key)
            newest = await _seed(platform, label, count, credentials)
            print(f"seeded {count:,} records for account {api_key} in {time.perf_counter() - started:.1f} s")
        else:
            print(f"reusing the {count:,} records of account {api_key} (--reseed to make them again)")
        accounts.append(BenchAccount(label, api_key, secret, email, count, _groups(label), newest))
    return accounts


async def _cached(platform: Platform, api_key: str, count: int) -> datetime | None:
    """The newest record's time when the account holds exactly `count` records of a recent seed."""
    async with platform.engine.connect() as conn:
        account_id = await conn.scalar(select(Account.id).where(Account.api_key == api_key))
        if account_id is None:
            return None
        held, newest = (
            await conn.execute(
                select(func.count(), func.max(CallRecord.submit_time)).where(
                    CallRecord.account_id == account_id
                )
            )
        ).one()
    if held != count or newest is None:
        return None
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)  # SQLite's MAX skips the type
    return None if datetime.now(UTC) - newest > MAX_SEED_AGE else newest


async def _drop(platform: Platform, api_key: str) -> None:
    """Whatever an earlier seed of this account left (its records first: SQLite skips FK cascades)."""
    async with platform.engine.begin() as conn:
        account_id = await conn.scalar(select(Account.id).where(Account.api_key == api_key))
        if account_id is not None:
            await conn.execute(delete(CallRecord).where(CallRecord.account_id == account_id))
            await conn.execute(delete(ConsoleUser).where(ConsoleUser.account_id == account_id))
            await conn.execute(delete(App).where(App.account_id == account_id))
            await conn.execute(delete(Account).where(Account.id == account_id))
    platform.directory.invalidate_all()


async def _seed(platform: Platform, label: str, count: int, credentials: tuple[str, str, str]) -> datetime:
    api_key, secret, email = credentials
    await platform.tenancy.create_account(name=f"bench {label}", api_key=api_key, api_secret=secret)
    app_pks: list[int] = []
    for n in range(3):
        app = await platform.tenancy.create_app(api_key, name=f"app {n}")
        async with platform.engine.connect() as conn:
            app_pk = await conn.scalar(select(App.id).where(App.app_id == app.app_id))
        assert app_pk is not None
        app_pks.append(app_pk)
    await platform.console_users.create(email, PASSWORD, api_key=api_key)
    async with platform.engine.connect() as conn:
        account_id = await conn.scalar(select(Account.id).where(Account.api_key == api_key))
    assert account_id is not None
    newest = datetime.now(UTC).replace(microsecond=0)
    rows = generate(count, account_id, app_pks, _groups(label), newest)
    async with platform.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await _copy(conn, rows)
        else:
            for batch in _batches(rows):
                await conn.execute(insert(CallRecord), batch)
    if platform.engine.dialect.name == "postgresql":
        # What autovacuum does soon after such a load: statistics (without them the planner takes the
        # window for 50 rows and sorts it instead of walking the index) and the visibility map (the
        # window's count then reads the index alone). SQLite gets no ANALYZE: sipline never runs one.
        async with platform.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE call_records"))
    return newest


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _copy(conn: AsyncConnection, rows: Iterator[dict[str, Any]]) -> None:
    """COPY in batches, each value as the column's own type would bind it."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    dialect = conn.dialect
    columns = list(COLUMNS)
    binders = [
        (lambda v, t=column.type: t.process_bind_param(v, dialect))
        if isinstance(column.type, TypeDecorator)
        else None
        for column in (CallRecord.__table__.c[name] for name in columns)
    ]
    for batch in _batches(rows):
        records = [
            tuple(
                value if bind is None else bind(value)
                for value, bind in zip((row[name] for name in columns), binders, strict=True)
            )
            for row in batch
        ]
        await driver.copy_records_to_table("call_records", records=records, columns=columns)


COLUMNS = (
    "voice_id", "account_id", "app_pk", "group_name", "phone_name", "phone_account", "callee",
    "display_num", "called_info", "code", "submit_time", "call_time", "ringing_time", "answer_time",
    "hangup_time", "call_duration", "charged_duration", "termination_code", "termination_reason",
    "bill_period", "rate", "cost", "currency", "feedback_value", "reserved", "node",
)  # fmt: skip


def generate(
    count: int,
    account_id: int,
    app_pks: list[int],
    groups: tuple[str, ...],
    newest: datetime,
) -> Iterator[dict[str, Any]]:
    """`count` ended calls over the `DAYS` days before `newest`, newest first: office hours busier,
    ~60 % answered (durations mostly under five minutes, a long tail to an hour), the rest failed
    with the usual SIP codes; 20 phones per group, 12 groups over 3 apps; costs per started minute."""
    rng = random.Random(count)
    span = DAYS * 86_400
    # Seconds before `newest`, drawn with the hourly profile, then sorted so voice ids follow time.
    weights = [HOURLY[(newest - timedelta(seconds=s)).hour] for s in range(0, 86_400, 3600)]
    offsets = sorted(
        rng.randrange(day * 86_400 + hour * 3600, day * 86_400 + hour * 3600 + 3600)
        for day, hour in zip(
            (rng.randrange(DAYS) for _ in range(count)),
            rng.choices(range(24), weights=weights, k=count),
            strict=True,
        )
    )
    failure_codes = [code for code, _reason, weight in FAILURES for _ in range(weight)]
    reasons = {code: reason for code, reason, _weight in FAILURES}
    for n, offset in enumerate(offsets):
        submit = newest - timedelta(seconds=min(offset, span - 1), microseconds=rng.randrange(1_000_000))
        group = rng.randrange(len(groups))
        phone = rng.randrange(20)
        call = submit + timedelta(milliseconds=rng.randrange(20, 300))
        ringing = call + timedelta(milliseconds=rng.randrange(300, 3000))
        answered = rng.random() < 0.6
        if answered:
            duration = min(int(rng.lognormvariate(4.2, 1.1)), 3600)
            answer = ringing + timedelta(seconds=rng.uniform(2, 25))
            hangup = answer + timedelta(seconds=duration)
            code, reason = "200", rng.choice(ANSWERED_REASONS)
            minutes = -(-duration // 60)
            charged, cost = minutes * 60, RATE * minutes
        else:
            duration, answer, charged, cost = 0, None, 0, Decimal(0)
            code = rng.choice(failure_codes)
            reason = reasons[code]
            hangup = ringing + timedelta(seconds=rng.uniform(1, 40))
        yield {
            "voice_id": f"8{account_id % 1_000_000:06d}{count - n:012d}",  # unique in the database
            "account_id": account_id,
            "app_pk": app_pks[group % len(app_pks)],
            "group_name": groups[group],
            "phone_name": f"desk-{phone}",
            "phone_account": f"{account_id:04d}{group:02d}{phone:04d}",
            "callee": f"44207946{rng.randrange(10_000):04d}",
            "display_num": "442079460000",
            "called_info": "" if rng.random() < 0.7 else f"ticket {rng.randrange(100_000)}",
            "code": "",
            "submit_time": submit,
            "call_time": call,
            "ringing_time": ringing,
            "answer_time": answer,
            "hangup_time": hangup,
            "call_duration": duration,
            "charged_duration": charged,
            "termination_code": code,
            "termination_reason": reason,
            "bill_period": "60",
            "rate": RATE,
            "cost": cost,
            "currency": "USD",
            "feedback_value": "-1",
            "reserved": Decimal(0),
            "node": "bench",
        }
