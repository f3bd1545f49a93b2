"""sendSip: accept a click-to-call (checks, rating, reservation, record) and place it over SIP.

The answer comes as soon as the record exists; the call goes on in the background (click_to_call.py)
and its record follows it (journal.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.billing.limits import Admission, CallAdmission
from sipline.billing.rating import Rate
from sipline.billing.reservations import CHUNK_SECONDS, LEAD_SECONDS, CallReservation
from sipline.calls.b2bua import B2buaCall, CallSetup
from sipline.calls.background import BackgroundTasks
from sipline.calls.call_events import PublishedCall
from sipline.calls.click_to_call import ClickToCall
from sipline.calls.dialogs import hang_up, open_dialogs
from sipline.calls.journal import CallJournal, CallTerms, interrupted_calls, settle_interrupted
from sipline.calls.observer import CallObserver
from sipline.calls.recording import CallRecording, RecordingSink
from sipline.calls.targets import CalleeTarget, CallLimits, PhoneTarget
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.calls.writer import CallWriter, Extension, NewCall
from sipline.domain import calls
from sipline.domain.call_origin import CallOrigin
from sipline.domain.destination import destination_code
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.status import Status
from sipline.domain.trunks import TrunkRoutes
from sipline.domain.voice_id import SEQUENCE_MODULUS, format_voice_id
from sipline.events.domain import CallAccepted
from sipline.events.stream import EventStream
from sipline.logs import voice_id as logged_voice_id
from sipline.media.port import MediaPlane
from sipline.services.auth import Caller
from sipline.services.directory import Directory
from sipline.sip.bindings import Binding
from sipline.sip.server import SipServer

log = logging.getLogger("sipline.calls")


@dataclass(frozen=True)
class CallOrder:
    """A validated sendSip body."""

    callee: str
    display_num: str
    account: str
    app_id: str
    called_info: str = ""


class RateLookup(Protocol):
    """Where the rate of a call comes from (billing/rate_book.py): the deck in effect at ``at``."""

    async def find(self, account_id: int, number: str, at: datetime) -> Rate | None: ...


class Registrations(Protocol):
    """Where a phone can be reached: its freshest live registration."""

    def latest(self, account: str, now: datetime) -> Binding | None: ...


@dataclass
class ActiveCall:
    voice_id: str
    phone_account: str
    call: B2buaCall
    journal: CallJournal
    admission: Admission | None = None  # released when the call is settled
    task: asyncio.Task[None] | None = None
    also_busy: tuple[str, ...] = ()  # a colleague rung phone to phone: busy as long as the call


class CallService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Directory,
        registrations: Registrations,
        sip: SipServer,
        routes: TrunkRoutes,
        rates: RateLookup,
        limits: CallLimits,
        node: str,
        resolver: TrunkResolver,
        media: MediaPlane,
        recordings: RecordingSink | None = None,
        admission: CallAdmission | None = None,
        reservation_chunk: int = CHUNK_SECONDS,
        reservation_lead: float = LEAD_SECONDS,
        events: EventStream | None = None,
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self.writer = CallWriter(sessions)
        self._registrations = registrations
        self._sip = sip
        self.routes = routes
        self._rates = rates
        self.limits = limits  # every call's; the balance cuts a call through its reservation
        self.node = node
        self._resolver = resolver
        self._media = media
        self.recordings = recordings  # where recordings go (the recordings service); None: not recorded
        self.admission = admission  # the accounts' fraud limits (billing/limits.py); None: no limits
        self._chunk, self._lead = reservation_chunk, reservation_lead  # billing/reservations.py
        self.events = events or EventStream()  # the calls' domain events, for their subscribers
        self._tasks = BackgroundTasks()  # the calls' BYEs and relayed requests
        self._sequence = itertools.count(secrets.randbelow(SEQUENCE_MODULUS))
        self.active: dict[str, ActiveCall] = {}
        self._busy: set[str] = set()  # phone accounts in a call placed by this node
        self.recovery: asyncio.Task[int] | None = None  # BYEs to the calls the last stop cut off
        self.attempts = 0  # calls accepted and placed (metrics)
        self.outcomes: dict[str, int] = {}  # calls ended, by termination code (metrics)

    async def send(self, caller: Caller, order: CallOrder) -> str:
        """Accept the call (or refuse it with -22/-68/-26/-10) and start it; returns the voiceId."""
        phone = await self._phone(caller, order)
        rate = await self._rates.find(caller.account_id, order.callee, datetime.now(UTC))  # from memory
        if rate is None:
            raise ApiError(Status.FEE_LOOKUP_FAILED, f"no rate for the destination of callee {order.callee}")
        admission = await self._admit(caller, order, rate)
        try:
            return await self._send(caller, order, phone, rate, admission)
        except BaseException:
            if admission is not None:
                admission.release()  # never placed: it does not count against the limits
            raise

    async def _admit(self, caller: Caller, order: CallOrder, rate: Rate) -> Admission | None:
        if self.admission is None:
            return None
        return await self.admission.admit(
            caller.account_id, order.callee, datetime.now(UTC), rate.first_period_cost()
        )

    async def _send(
        self, caller: Caller, order: CallOrder, phone: PhoneRow, rate: Rate, admission: Admission | None
    ) -> str:
        if order.account in self._busy:
            raise ApiError(Status.PHONE_NOT_IDLE, f"phone {order.account} is in a call")
        now = datetime.now(UTC)
        binding = self._registrations.latest(order.account, now)
        if binding is None:
            raise ApiError(Status.PHONE_NOT_IDLE, f"phone {order.account} is not registered")
        trunk = self.routes.for_app(order.app_id)
        if trunk is None:
            raise ApiError(Status.SYSTEM_ERROR, "no outbound trunk is available for this app")
        self._busy.add(order.account)  # before any await: a second sendSip for the phone gets -68
        try:
            terms = await self.accept_call(caller, order, phone, rate, now)
        except BaseException:
            self._busy.discard(order.account)
            raise
        target = CalleeTarget(order.callee, order.display_num, trunk)
        self._start(terms, order, binding, target, now).admission = admission
        return terms.voice_id

    # -- what handset calls share (calls/handset.py) ------------------------------------------
    @property
    def registrations(self) -> Registrations:
        return self._registrations

    @property
    def rates(self) -> RateLookup:
        return self._rates

    @property
    def background(self) -> BackgroundTasks:
        """The calls' task set (BYEs, relays, handset INVITEs being accepted)."""
        return self._tasks

    def is_busy(self, account: str) -> bool:
        """Whether the phone is in a call placed by this node (sendSip's -68, a handset's 486)."""
        return account in self._busy

    def claim(self, *accounts: str) -> None:
        """Mark phones busy (no await before: a concurrent call for them sees it)."""
        self._busy.update(accounts)

    def unclaim(self, *accounts: str) -> None:
        self._busy.difference_update(accounts)

    async def _phone(self, caller: Caller, order: CallOrder) -> PhoneRow:
        app = await self._directory.app_phones(order.app_id)
        if app is None or app.account_id != caller.account_id:
            raise parameter_error(f"appId {order.app_id} is not an app of this account")
        record = app.phone(order.account)
        if record is None:
            raise parameter_error(f"account {order.account} does not belong to appId {order.app_id}")
        return PhoneRow(order.account, record["phoneName"], record["groupName"], app.app_pk)

    async def accept_call(
        self,
        caller: Caller,
        order: CallOrder,
        phone: PhoneRow,
        rate: Rate,
        now: datetime,
        origin: CallOrigin = CallOrigin.API,
        code: str | None = None,
    ) -> CallTerms:
        """Reserve the first billing period and write the record (-10 when the balance cannot pay).
        Handset calls say their ``origin`` (and phone to phone, the ``code`` shown instead of a
        destination)."""
        reserve = rate.first_period_cost()

        def new_voice_id() -> str:
            return format_voice_id(now, next(self._sequence))

        call = NewCall(
            account_id=caller.account_id,
            reserve=reserve,
            record={
                "voice_id": new_voice_id(),
                "account_id": caller.account_id,
                "app_pk": phone.app_pk,
                "group_name": phone.group_name,
                "phone_name": phone.name,
                "phone_account": phone.account,
                "callee": order.callee,
                "display_num": order.display_num,
                "called_info": order.called_info,
                "code": destination_code(order.callee) if code is None else code,
                "submit_time": now,
                "bill_period": str(rate.period),
                "rate": rate.per_minute,
                "base_rate": rate.base,
                "connect_fee": rate.connect_fee,
                "feedback_value": calls.NO_FEEDBACK,
                "reserved": reserve,
                "node": self.node,
                "origin": origin.value,
            },
            new_voice_id=new_voice_id,
        )
        account = await self.writer.accept(call)
        return CallTerms(
            call.voice_id, caller.account_id, rate, reserve, account.currency, account.quote_exchange
        )

    def _start(
        self,
        terms: CallTerms,
        order: CallOrder,
        binding: Binding,
        trunk_target: CalleeTarget,
        accepted_at: datetime,
    ) -> ActiveCall:
        def click_to_call(observer: CallObserver, setup: CallSetup) -> B2buaCall:
            phone = PhoneTarget(order.account, binding.contact, binding.flow())
            return ClickToCall(self._sip, phone, trunk_target, observer, setup)

        return self.start_call(terms, order.account, click_to_call, accepted_at)

    def start_call(
        self,
        terms: CallTerms,
        account: str,
        make: Callable[[CallObserver, CallSetup], B2buaCall],
        accepted_at: datetime,
        also_busy: tuple[str, ...] = (),
    ) -> ActiveCall:
        """Run an accepted call (its record written, ``account`` claimed) as a task, with its journal,
        reservation and recording, once ``CallAccepted`` is published; the phones are released when it
        is settled."""
        self.events.publish(CallAccepted(terms.voice_id, accepted_at))
        reservation = self._reservation(terms)
        journal = CallJournal(self.writer, terms, on_settled=self._settled, reservation=reservation)
        recording = (
            CallRecording(self.recordings, terms.voice_id, self._tasks)
            if self.recordings is not None
            else None
        )
        call_id = f"{terms.voice_id}-{secrets.token_hex(4)}"
        call = make(
            PublishedCall(journal, self.events, terms.voice_id),
            CallSetup(self._media, self.limits, call_id, self._resolver, self._tasks, recording),
        )
        active = ActiveCall(terms.voice_id, account, call, journal, also_busy=also_busy)
        self.active[terms.voice_id] = active
        self.attempts += 1
        # Every line logged by the call's task (and the tasks it starts) carries its voiceId, and so
        # do the rest of sendSip's own lines (each HTTP request runs in a task of its own).
        logged_voice_id.set(terms.voice_id)
        reservation.cut = call.hang_up  # the balance ran out: the call ends where its money does
        active.task = asyncio.create_task(call.run())  # copies the context, voiceId and all
        return active

    def _reservation(self, terms: CallTerms) -> CallReservation:
        """What the call holds (its first period, reserved at acceptance), extended through the
        writer as the call goes on (billing/reservations.py); its ``cut`` is set to the call's hang-up."""

        async def extend(amount: Decimal) -> bool:
            return await self.writer.extend(Extension(terms.voice_id, terms.account_id, amount))

        return CallReservation(
            terms.rate, terms.reserved, extend, chunk_seconds=self._chunk, lead_seconds=self._lead
        )

    def _settled(self, journal: CallJournal) -> None:
        active = self.active.pop(journal.terms.voice_id, None)
        if active is not None:
            self._busy.discard(active.phone_account)
            self._busy.difference_update(active.also_busy)
            if active.admission is not None:
                active.admission.release()
        if journal.termination is not None:
            code = journal.termination.code
            self.outcomes[code] = self.outcomes.get(code, 0) + 1

    # -- lifecycle ---------------------------------------------------------------------------
    async def close_interrupted(self) -> int:
        """At start, SIP running, before the API serves: close this node's calls that the last stop cut
        off (see journal.py) and BYE their legs' stored dialogs in the background."""
        async with self._sessions() as session:
            interrupted = await interrupted_calls(session, self.node)
            dialogs = await open_dialogs(session, self.node)
        if dialogs:
            self.recovery = asyncio.create_task(hang_up(self._sip, dialogs))
        return await settle_interrupted(self.writer, interrupted, self.node, datetime.now(UTC))

    async def heartbeat(self, interval: float) -> None:
        """Every ``interval`` s, record that the answered calls in progress are still up (their
        last activity): after a crash they are charged up to the last of these."""
        while True:
            await asyncio.sleep(interval)
            at = datetime.now(UTC)
            for active in self.active.values():
                active.journal.activity(at)
                active.journal.write_activity()

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
        if self.recovery is not None and not self.recovery.done():
            self.recovery.cancel()  # BYEs still unanswered after a restart: the peers time out
        await self.writer.drain()


@dataclass(frozen=True)
class PhoneRow:
    account: str
    name: str
    group_name: str
    app_pk: int
