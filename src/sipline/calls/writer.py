"""One writer for what calls write, in group commits.

At hundreds of calls a second, a transaction per event (accepted, callee invited, ringing, answered,
settled) would be thousands of commits a second, each several thread hops through the database
driver. Instead every write is queued here, and a flusher commits what has gathered in a window
in one transaction, with one statement per kind of write. The window is ``interval`` seconds while
batches are small and doubles, up to ``max_interval``, while they are large (``BUSY_BATCH`` items or
more), halving again as the load falls: each batch costs about as much CPU whatever its size (a
session, a commit, a thread hop per statement), so under load fewer, larger batches leave more of
the core to the calls (bench/calls, docs/operations.md), for at most ``max_interval`` more latency.

- new calls: the first billing period reserved per account with one conditional UPDATE (never
  below zero; if the sum does not fit, call by call in order), records and ledger rows inserted;
- reservation extensions (billing/reservations.py): the next chunk of a call in progress taken per
  account with one conditional UPDATE (never below zero; call by call when the sum does not fit), a
  ``reserve`` ledger row each and the record's ``reserved`` grown; written before the batch's
  settlements, so a call's last extension is always in its settlement;
- record updates (callee invited, ringing, answered, DTMF, last activity), coalesced per call;
- each leg's dialog (what a BYE after a crash needs), upserted, coalesced per call and leg;
- settlements: final fields, each account's balance moved once, ledger rows inserted, the calls'
  dialogs deleted, then ``in_settlement`` (the push outbox's reports, events/outbox.py).

What each ledger row says (kind, signed amount, the balance after it) comes from billing/postings.py;
this module only stores it. Callers that need the outcome (sendSip, a settlement) await it. When a
batch fails as a whole, its items are retried one transaction each, so that one bad item cannot sink
the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.billing import postings
from sipline.domain.errors import ApiError
from sipline.domain.status import Status
from sipline.store.models import Account, CallDialog, CallRecord, LedgerEntry

log = logging.getLogger("sipline.calls")

# Core tables: no ORM unit-of-work bookkeeping on these hot writes.
RECORDS: Table = CallRecord.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
LEDGER: Table = LedgerEntry.__table__  # type: ignore[assignment]
DIALOGS: Table = CallDialog.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class AccountTerms:
    """What the reservation read from the account, for the record and the settlement."""

    currency: str
    quote_exchange: Decimal | None
    balance_left: Decimal = Decimal(0)  # after this batch's reservations for the account


@dataclass
class NewCall:
    account_id: int
    reserve: Decimal
    record: dict[str, Any]  # call_records column values; currency and quote_exchange are filled in
    new_voice_id: Callable[[], str]  # a fresh id, should this one clash with another node's

    @property
    def voice_id(self) -> str:
        voice_id: str = self.record["voice_id"]
        return voice_id


@dataclass
class Settlement:
    voice_id: str
    account_id: int
    reserved: Decimal
    fields: dict[str, Any]  # the record's final fields, "cost" among them

    @property
    def cost(self) -> Decimal:
        cost: Decimal = self.fields.get("cost") or Decimal(0)
        return cost


@dataclass(frozen=True)
class Extension:
    """More money reserved for a call in progress."""

    voice_id: str
    account_id: int
    amount: Decimal


@dataclass
class _Queue:
    accepts: list[tuple[NewCall, asyncio.Future[AccountTerms]]] = field(default_factory=list)
    extensions: list[tuple[Extension, asyncio.Future[bool]]] = field(default_factory=list)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    dialogs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # by (voice_id, leg)
    settlements: list[tuple[Settlement, asyncio.Future[bool]]] = field(default_factory=list)

    def __len__(self) -> int:  # also its truth: anything left to write
        kinds = (self.accepts, self.extensions, self.updates, self.dialogs, self.settlements)
        return sum(len(kind) for kind in kinds)


BUSY_BATCH = 32  # items (about six a call): a batch this large doubles the window, a quarter halves it


def next_window(window: float, items: int, shortest: float, longest: float) -> float:
    """The gathering time after a batch of ``items`` gathered in ``window``."""
    if items >= BUSY_BATCH:
        return min(longest, window * 2)
    if items < BUSY_BATCH // 4:
        return max(shortest, window / 2)
    return window


class CallWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.005,
        max_interval: float = 0.02,
    ) -> None:
        self._sessions = sessions
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.window = interval  # the next batch's gathering time, between the two
        self._queue = _Queue()
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # committed batches (benchmarks print it)
        self.extensions = {"taken": 0, "refused": 0}  # reservation extensions written (metrics)
        self.batch_timer: Callable[[float], None] = _ignore  # gets each batch's seconds (metrics)
        # Run inside the transaction that settles calls, with their voiceIds (the push outbox).
        self.in_settlement: list[SettlementHook] = []

    # -- queueing ------------------------------------------------------------------------------
    async def accept(self, call: NewCall) -> AccountTerms:
        """Reserve and insert the new call; -10 when the balance cannot pay the reservation."""
        future: asyncio.Future[AccountTerms] = asyncio.get_running_loop().create_future()
        self._queue.accepts.append((call, future))
        self._kick()
        return await future

    async def extend(self, extension: Extension) -> bool:
        """Reserve more for a call in progress; False when the balance cannot pay it."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.extensions.append((extension, future))
        self._kick()
        taken = await future
        self.extensions["taken" if taken else "refused"] += 1
        return taken

    def update(self, voice_id: str, fields: dict[str, Any]) -> None:
        """Merge ``fields`` into what the next batch writes to the record (fire and forget)."""
        self._queue.updates.setdefault(voice_id, {}).update(fields)
        self._kick()

    def dialog(self, row: dict[str, Any]) -> None:
        """Write (insert or replace) a leg's dialog, a ``call_dialogs`` row (fire and forget)."""
        self._queue.dialogs[(row["voice_id"], row["leg"])] = row
        self._kick()

    async def settle(self, settlement: Settlement) -> bool:
        """Close the record and move the money; False if the record was closed already."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.settlements.append((settlement, future))
        self._kick()
        return await future

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())

    # -- flushing ------------------------------------------------------------------------------
    async def _flush_all(self) -> None:
        while self._queue:
            await asyncio.sleep(self.window)  # let a batch gather
            batch, self._queue = self._queue, _Queue()
            self.window = next_window(self.window, len(batch), self.interval, self.max_interval)
            started = time.perf_counter()
            try:
                async with self._sessions() as session:
                    outcomes = await _write(session, batch, self.in_settlement)
                    await session.commit()
            except Exception:
                log.warning("a batch of call writes failed; retrying its items one by one", exc_info=True)
                await self._one_by_one(batch)
            else:
                self.batch_timer(time.perf_counter() - started)
                self.batches += 1
                for future, result in outcomes:
                    _resolve(future, result)

    async def _one_by_one(self, batch: _Queue) -> None:
        items: list[_Queue] = [_Queue(accepts=[item]) for item in batch.accepts]
        items += [_Queue(extensions=[item]) for item in batch.extensions]
        items += [_Queue(updates={key: fields}) for key, fields in batch.updates.items()]
        items += [_Queue(dialogs={key: row}) for key, row in batch.dialogs.items()]
        items += [_Queue(settlements=[item]) for item in batch.settlements]
        for item in items:
            for attempt in range(3):
                try:
                    async with self._sessions() as session:
                        outcomes = await _write(session, item, self.in_settlement)
                        await session.commit()
                except IntegrityError as exc:  # a voiceId clash with another node: a fresh id
                    for call, _future in item.accepts:
                        call.record["voice_id"] = call.new_voice_id()
                    if attempt < 2:
                        continue
                    _fail(item, exc)
                except Exception as exc:
                    log.exception("call write failed")
                    _fail(item, exc)
                else:
                    for future, result in outcomes:
                        _resolve(future, result)
                break


Outcome = tuple[asyncio.Future[Any], Any]
SettlementHook = Callable[[AsyncSession, list[str]], Awaitable[None]]


def _ignore(_seconds: float) -> None:
    pass


async def _write(session: AsyncSession, batch: _Queue, hooks: Sequence[SettlementHook] = ()) -> list[Outcome]:
    outcomes = await _accept_all(session, batch.accepts)
    outcomes += await _extend_all(session, batch.extensions)
    await _update_all(session, batch.updates)
    await _upsert_dialogs(session, list(batch.dialogs.values()))
    outcomes += await _settle_all(session, batch.settlements, hooks)
    return outcomes


async def _accept_all(
    session: AsyncSession, accepts: Sequence[tuple[NewCall, asyncio.Future[AccountTerms]]]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    records: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for account_id, items in _by_account(accepts).items():
        rows = await _take_each(session, account_id, [call.reserve for call, _ in items])
        taken = [(call, future, row) for (call, future), row in zip(items, rows, strict=True) if row]
        left = taken[-1][2][0] if taken else Decimal(0)  # the balance once every reservation is taken
        for (call, future), row in zip(items, rows, strict=True):
            if row is None:
                reason = f"the balance cannot pay the first billing period ({_text(call.reserve)})"
                outcomes.append((future, ApiError(Status.BALANCE_INSUFFICIENT, reason)))
        for call, future, (balance_after, currency, quote_exchange) in taken:
            records.append(call.record | {"currency": currency, "quote_exchange": quote_exchange})
            ledger += _rows(account_id, postings.reservation(call.voice_id, call.reserve), balance_after, now)
            outcomes.append((future, AccountTerms(currency, quote_exchange, left)))
    if records:
        await session.execute(insert(RECORDS), records)
    if ledger:
        await session.execute(insert(LEDGER), ledger)
    return outcomes


_Item = TypeVar("_Item", NewCall, Extension)


def _by_account(
    items: Sequence[tuple[_Item, asyncio.Future[Any]]],
) -> dict[int, list[tuple[_Item, asyncio.Future[Any]]]]:
    grouped: dict[int, list[tuple[_Item, asyncio.Future[Any]]]] = defaultdict(list)
    for item in items:
        grouped[item[0].account_id].append(item)
    return grouped


async def _take_each(
    session: AsyncSession, account_id: int, amounts: list[Decimal]
) -> list[tuple[Decimal, str, Decimal | None] | None]:
    """Take each amount in order while the balance lasts: one UPDATE for them all when the sum fits,
    else one each. For each, the account row after it (balance, currency, quote), or None: not taken."""
    total = sum(amounts, Decimal(0))
    row = await _take(session, account_id, total)
    if row is None:
        return [await _take(session, account_id, amount) for amount in amounts]
    balance = row[0] + total
    rows: list[tuple[Decimal, str, Decimal | None] | None] = []
    for amount in amounts:
        balance -= amount
        rows.append((balance, row[1], row[2]))
    return rows


# The balance statements are built once, with bound parameters: built per call with the amount as a
# literal, each left a reference cycle (SQLAlchemy's BindParameter of the Money type and its
# comparator) for the garbage collector, two per call.
_AMOUNT = bindparam("_amount", type_=ACCOUNTS.c.balance.type)
_TAKE = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == bindparam("_account_id"), ACCOUNTS.c.balance >= _AMOUNT)
    .values(balance=ACCOUNTS.c.balance - _AMOUNT)
    .returning(ACCOUNTS.c.balance, ACCOUNTS.c.currency, ACCOUNTS.c.quote_exchange)
)
_MOVE = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == bindparam("_account_id"))
    .values(balance=ACCOUNTS.c.balance + _AMOUNT)  # one bound amount: it takes the Money type
    .returning(ACCOUNTS.c.balance)
)


async def _take(
    session: AsyncSession, account_id: int, amount: Decimal
) -> tuple[Decimal, str, Decimal | None] | None:
    """Take ``amount`` from the balance unless that would leave it below zero; the row after, or None."""
    row = (await session.execute(_TAKE, {"_account_id": account_id, "_amount": amount})).first()
    return None if row is None else (row[0], row[1], row[2])


async def _extend_all(
    session: AsyncSession, extensions: Sequence[tuple[Extension, asyncio.Future[bool]]]
) -> list[Outcome]:
    if not extensions:
        return []
    now = datetime.now(UTC)
    grown: list[dict[str, Any]] = []  # the records' reserved amounts, each grown by its extension
    ledger: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for account_id, items in _by_account(extensions).items():
        rows = await _take_each(session, account_id, [extension.amount for extension, _ in items])
        for (extension, future), row in zip(items, rows, strict=True):
            outcomes.append((future, row is not None))
            if row is not None:
                taken = postings.reservation(extension.voice_id, extension.amount)
                ledger += _rows(account_id, taken, row[0], now)
                grown.append({"_voice_id": extension.voice_id, "_amount": extension.amount})
    if grown:
        await session.execute(_GROW, grown)
    if ledger:
        await session.execute(insert(LEDGER), ledger)
    return outcomes


_GROW = (
    update(RECORDS)
    .where(RECORDS.c.voice_id == bindparam("_voice_id"))
    .values(reserved=RECORDS.c.reserved + bindparam("_amount", type_=RECORDS.c.reserved.type))
)


async def _update_all(session: AsyncSession, updates: dict[str, dict[str, Any]]) -> None:
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for voice_id, fields in updates.items():
        by_shape[tuple(sorted(fields))].append({"_voice_id": voice_id, **fields})
    for shape, rows in by_shape.items():
        await session.execute(_record_update(shape), rows)


@functools.lru_cache(maxsize=128)
def _record_update(shape: tuple[str, ...], *, open_only: bool = False) -> Any:
    """The UPDATE of a record's ``shape`` of fields (a handful of shapes, all from this module), built
    once, as the balance statements are, not per batch; ``open_only``: unless it is closed already."""
    statement = update(RECORDS).where(RECORDS.c.voice_id == bindparam("_voice_id"))
    if open_only:
        statement = statement.where(RECORDS.c.hangup_time.is_(None))
    return statement.values({name: bindparam(name) for name in shape})


async def _upsert_dialogs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(_dialog_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _dialog_upsert(dialect_name: str) -> Any:
    """The dialogs' upsert, built once per dialect: ``excluded`` builds a column collection each time,
    a few per cent of the CPU at 100 calls/s when it was built per batch."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(DIALOGS)
    kept = {
        column.name: statement.excluded[column.name]
        for column in DIALOGS.columns
        if column.name not in ("voice_id", "leg")
    }
    return statement.on_conflict_do_update(index_elements=["voice_id", "leg"], set_=kept)


async def _settle_all(
    session: AsyncSession,
    settlements: Sequence[tuple[Settlement, asyncio.Future[bool]]],
    hooks: Sequence[SettlementHook] = (),
) -> list[Outcome]:
    if not settlements:
        return []
    closed = 0
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for settlement, _future in settlements:
        by_shape[tuple(sorted(settlement.fields))].append(
            {"_voice_id": settlement.voice_id, **settlement.fields}
        )
    for shape, rows in by_shape.items():
        statement = _record_update(shape, open_only=True)
        # asyncpg counts no rows for an executemany: there every batch of settlements failed and was
        # retried one by one (a logged traceback each). Row by row in the same transaction instead.
        if session.get_bind().dialect.supports_sane_multi_rowcount:
            closed += (await session.execute(statement, rows)).rowcount  # type: ignore[attr-defined]
        else:
            for row in rows:
                closed += (await session.execute(statement, row)).rowcount  # type: ignore[attr-defined]
    if closed != len(settlements):
        if len(settlements) > 1:
            raise _AlreadyClosed  # the one-by-one retry tells which one
        return [(settlements[0][1], False)]
    voice_ids = [settlement.voice_id for settlement, _future in settlements]
    await session.execute(delete(DIALOGS).where(DIALOGS.c.voice_id.in_(voice_ids)))  # no BYE needed now
    now = datetime.now(UTC)
    ledger: list[dict[str, Any]] = []
    by_account: dict[int, list[Settlement]] = defaultdict(list)
    for settlement, _future in settlements:
        by_account[settlement.account_id].append(settlement)
    for account_id, items in by_account.items():
        settled = [
            posting
            for item in items
            for posting in postings.settlement(item.voice_id, item.reserved, item.cost)
        ]
        if not settled:
            continue
        final = await session.scalar(_MOVE, {"_account_id": account_id, "_amount": postings.net(settled)})
        if final is None:  # the account was deleted meanwhile
            continue
        ledger += _rows(account_id, settled, final, now)
    if ledger:
        await session.execute(insert(LEDGER), ledger)
    for hook in hooks:
        await hook(session, voice_ids)
    return [(future, True) for _settlement, future in settlements]


class _AlreadyClosed(Exception):
    """A settlement in the batch found its record closed already (only ever after a restart)."""


def _rows(
    account_id: int, made: list[postings.Posting], balance_after_all: Decimal, at: datetime
) -> list[dict[str, Any]]:
    """The ledger rows of postings made in this order, the balance being ``balance_after_all`` after."""
    return [
        {
            "account_id": account_id,
            "kind": posting.kind.value,
            "amount": posting.amount,
            "balance_after": balance,
            "reference": posting.reference,
            "created_at": at,
        }
        for posting, balance in zip(made, postings.running_balances(made, balance_after_all), strict=True)
    ]


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _fail(item: _Queue, error: BaseException) -> None:
    for _call, future in item.accepts:
        _resolve(future, error)
    for _extension, extended in item.extensions:
        _resolve(extended, error)
    for _settlement, settled in item.settlements:
        _resolve(settled, error)
