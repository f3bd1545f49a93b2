"""sendSip: accept a click-to-call (checks, rating, reservation, record) and place it over SIP.

The answer comes as soon as the record exists; the call goes on in the background (sip/b2bua.py)
and its record follows it (call_journal.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain import calls
from sipline.domain.destination import destination_code
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.rating import Rate, RateDeck
from sipline.domain.status import Status
from sipline.domain.trunks import TrunkRoutes
from sipline.domain.voice_id import SEQUENCE_MODULUS, format_voice_id
from sipline.services.auth import Caller
from sipline.services.call_journal import CallJournal, CallTerms, close_interrupted
from sipline.sip.b2bua import CalleeTarget, CallLimits, ClickToCall, PhoneTarget
from sipline.sip.bindings import Binding
from sipline.sip.server import SipServer
from sipline.store.models import Account, App, CallRecord, LedgerEntry, Phone, PhoneGroup

log = logging.getLogger("sipline.calls")


@dataclass(frozen=True)
class CallOrder:
    """A validated sendSip body."""

    callee: str
    display_num: str
    account: str
    app_id: str
    called_info: str = ""


class Registrations(Protocol):
    """Where a phone can be reached: its freshest live registration."""

    def latest(self, account: str, now: datetime) -> Binding | None: ...


@dataclass
class ActiveCall:
    voice_id: str
    phone_account: str
    call: ClickToCall
    journal: CallJournal
    task: asyncio.Task[None] | None = None


class CallService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        registrations: Registrations,
        sip: SipServer,
        routes: TrunkRoutes,
        deck: RateDeck,
        limits: CallLimits,
        node: str,
    ) -> None:
        self._sessions = sessions
        self._registrations = registrations
        self._sip = sip
        self.routes = routes
        self._deck = deck
        self._limits = limits
        self.node = node
        self._sequence = itertools.count(secrets.randbelow(SEQUENCE_MODULUS))
        self.active: dict[str, ActiveCall] = {}
        self._busy: set[str] = set()  # phone accounts in a call placed by this node

    async def send(self, caller: Caller, order: CallOrder) -> str:
        """Accept the call (or refuse it with -22/-68/-26/-10) and start it; returns the voiceId."""
        phone = await self._phone(caller, order)
        if order.account in self._busy:
            raise ApiError(Status.PHONE_NOT_IDLE, f"phone {order.account} is in a call")
        now = datetime.now(UTC)
        binding = self._registrations.latest(order.account, now)
        if binding is None:
            raise ApiError(Status.PHONE_NOT_IDLE, f"phone {order.account} is not registered")
        trunk = self.routes.for_app(order.app_id)
        if trunk is None:
            raise ApiError(Status.SYSTEM_ERROR, "no outbound trunk is available for this app")
        rate = self._deck.find(order.callee)
        if rate is None:
            raise ApiError(Status.FEE_LOOKUP_FAILED, f"no rate for the destination of callee {order.callee}")
        self._busy.add(order.account)  # before any await: a second sendSip for the phone gets -68
        try:
            terms = await self._accept(caller, order, phone, rate, now)
        except BaseException:
            self._busy.discard(order.account)
            raise
        self._start(terms, order, binding, trunk_target=CalleeTarget(order.callee, order.display_num, trunk))
        return terms.voice_id

    async def _phone(self, caller: Caller, order: CallOrder) -> _PhoneRow:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        Phone.account,
                        Phone.name,
                        PhoneGroup.name.label("group_name"),
                        App.id.label("app_pk"),
                        App.app_id,
                        App.account_id,
                    )
                    .join(PhoneGroup, Phone.group_id == PhoneGroup.id)
                    .join(App, Phone.app_pk == App.id)
                    .where(Phone.account == order.account)
                )
            ).first()
            if row is None or row.account_id != caller.account_id:
                raise parameter_error(f"account {order.account} is not a phone of this customer")
            if row.app_id != order.app_id:
                raise parameter_error(f"account {order.account} does not belong to appId {order.app_id}")
        return _PhoneRow(row.account, row.name, row.group_name, row.app_pk)

    async def _accept(
        self, caller: Caller, order: CallOrder, phone: _PhoneRow, rate: Rate, now: datetime
    ) -> CallTerms:
        reserve = rate.first_period_cost()
        for _attempt in range(5):
            voice_id = format_voice_id(now, next(self._sequence))
            async with self._sessions() as session:
                account = await self._reserve(session, caller.account_id, reserve, voice_id)
                session.add(
                    CallRecord(
                        voice_id=voice_id,
                        account_id=caller.account_id,
                        app_pk=phone.app_pk,
                        group_name=phone.group_name,
                        phone_name=phone.name,
                        phone_account=phone.account,
                        callee=order.callee,
                        display_num=order.display_num,
                        called_info=order.called_info,
                        code=destination_code(order.callee),
                        submit_time=now,
                        bill_period=str(rate.period),
                        rate=rate.per_minute,
                        base_rate=rate.base,
                        currency=account.currency,
                        quote_exchange=account.quote_exchange,
                        feedback_value=calls.NO_FEEDBACK,
                        reserved=reserve,
                        node=self.node,
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:  # another node made the same voiceId this second
                    await session.rollback()
                    continue
            return CallTerms(
                voice_id, caller.account_id, rate, reserve, account.currency, account.quote_exchange
            )
        raise ApiError(Status.SYSTEM_ERROR, "could not allocate a voiceId, try again")

    async def _reserve(
        self, session: AsyncSession, account_id: int, amount: Decimal, voice_id: str
    ) -> _AccountRow:
        """Hold the first billing period; -10 when the balance cannot pay it (never below zero)."""
        row = (
            await session.execute(
                update(Account)
                .where(Account.id == account_id, Account.balance >= amount)
                .values(balance=Account.balance - amount)
                .returning(Account.balance, Account.currency, Account.quote_exchange)
            )
        ).first()
        if row is None:
            raise ApiError(
                Status.BALANCE_INSUFFICIENT,
                f"the balance cannot pay the first billing period ({format(amount.normalize(), 'f')})",
            )
        if amount:
            session.add(
                LedgerEntry(
                    account_id=account_id,
                    kind="reserve",
                    amount=-amount,
                    balance_after=row.balance,
                    reference=voice_id,
                )
            )
        return _AccountRow(row.currency, row.quote_exchange)

    def _start(
        self, terms: CallTerms, order: CallOrder, binding: Binding, trunk_target: CalleeTarget
    ) -> None:
        journal = CallJournal(self._sessions, terms, on_settled=self._settled)
        call = ClickToCall(
            self._sip,
            PhoneTarget(order.account, binding.contact, binding.flow()),
            trunk_target,
            journal,
            limits=self._limits,
            call_id=f"{terms.voice_id}-{secrets.token_hex(4)}",
        )
        active = ActiveCall(terms.voice_id, order.account, call, journal)
        self.active[terms.voice_id] = active
        active.task = asyncio.create_task(call.run())

    def _settled(self, journal: CallJournal) -> None:
        active = self.active.pop(journal.terms.voice_id, None)
        if active is not None:
            self._busy.discard(active.phone_account)

    # -- lifecycle ---------------------------------------------------------------------------
    async def close_interrupted(self) -> int:
        """At start: close this node's calls that the last stop cut off (see call_journal.py)."""
        return await close_interrupted(self._sessions, self.node, datetime.now(UTC))

    async def shutdown(self, grace: float = 5.0) -> None:
        """Hang up every call in progress and wait (a while) for their records to be settled."""
        calls_now = list(self.active.values())
        for active in calls_now:
            active.call.hang_up(calls.SHUTDOWN)
        if calls_now:
            log.info("hanging up %d call(s) for shutdown", len(calls_now))
            waits = [asyncio.create_task(active.journal.settled.wait()) for active in calls_now]
            _done, pending = await asyncio.wait(waits, timeout=grace)
            for task in pending:
                task.cancel()


@dataclass(frozen=True)
class _PhoneRow:
    account: str
    name: str
    group_name: str
    app_pk: int


@dataclass(frozen=True)
class _AccountRow:
    currency: str
    quote_exchange: Decimal | None
