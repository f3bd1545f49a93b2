"""What every call through the platform shares: a B2BUA on a media session, the phone on one side.

A call (``ClickToCall``: the platform rings the agent's phone first; ``HandsetCall``: the phone
dialled) subclasses ``B2buaCall`` and places its phone leg in ``_place``. The rest is here: the media
session allocated and released, the callee leg rung through its ``CalleeRoute`` (trunk or colleague)
with the ring timeout, early media and the answer taken by the media session, the recording, the
bridge with its in-dialog requests (re-INVITE, UPDATE, INFO relayed, each leg's offer/answer with the
platform), and every end of the call reported to the ``CallObserver`` with the time of its message.

Two hooks say how the phone leg learns about the callee: ``_phone_failed`` (click-to-call BYEs its
answered phone; a handset gets the callee's final answer) and ``_phone_connect`` (a handset gets its
200 once the callee answers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sipline.calls.background import BackgroundTasks
from sipline.calls.callee_route import CalleeRoute
from sipline.calls.in_dialog import answer_locally, has_sdp, offer_in_2xx, relay, relay_offer
from sipline.calls.invites import ALLOW
from sipline.calls.media_events import CallMediaEvents
from sipline.calls.observer import CALLEE_LEG, PHONE_LEG, CallObserver
from sipline.calls.recording import CallRecording
from sipline.calls.targets import CallLimits
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.media.port import Leg, MediaError, MediaPlane, MediaSession, NoFreePort
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.message import SipResponse
from sipline.sip.random_ids import random_hex
from sipline.sip.server import SipServer
from sipline.sip.stored_dialog import StoredDialog
from sipline.sip.transaction import ServerTransaction
from sipline.sip.uac import InviteResult, OutgoingInvite, invite

log = logging.getLogger(__name__)

_LEG_NAMES = {Leg.AGENT: PHONE_LEG, Leg.CALLEE: CALLEE_LEG}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallSetup:
    """What a call is placed with: the node's media plane, resolver and task set, its own limits,
    SIP Call-ID stem and recording (None: not recorded)."""

    media: MediaPlane
    limits: CallLimits = field(default_factory=CallLimits)
    call_id: str = field(default_factory=lambda: random_hex(12))
    resolver: TrunkResolver = field(default_factory=TrunkResolver)
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)  # BYEs and relays that may outlive it
    recording: CallRecording | None = None


class B2buaCall:
    """One call; ``await run()`` places it and returns when it is over."""

    def __init__(
        self,
        server: SipServer,
        callee: CalleeRoute,
        observer: CallObserver,
        setup: CallSetup,
        phone_contact: str,
    ) -> None:
        self.server = server
        self.media = setup.media
        self.resolver = setup.resolver
        self.tasks = setup.tasks
        self.recording = setup.recording
        self.callee = callee
        self.phone_contact = phone_contact  # where the phone listens (stored for BYEs after a crash)
        self.observer = observer
        self.limits = setup.limits
        self.call_id = setup.call_id
        self._stop_reason: str | None = None
        self._on_stop: Callable[[], None] | None = None
        self._dialogs: dict[Leg, Dialog] = {}  # each leg's, once established
        self._ringing_reported = False
        self._early_answer: bytes | None = None  # the callee's answer in a 180/183, if any
        self._ended = False

    # -- control -----------------------------------------------------------------------
    def hang_up(self, reason: str) -> None:
        """End the call from outside (shutdown, balance, media timeout): whatever leg exists is
        cancelled or BYEd."""
        if self._stop_reason is None:
            self._stop_reason = reason
            if self._on_stop is not None:
                self._on_stop()

    async def run(self) -> None:
        events = CallMediaEvents(self.call_id, self.observer, self.hang_up)
        try:
            session = self.media.allocate(self.call_id, events)
        except MediaError as exc:
            log.warning("call %s: no media session: %s", self.call_id, exc)
            events.detach()
            why = calls.NO_MEDIA_PORT if isinstance(exc, NoFreePort) else str(exc)
            self._end(calls.failed_termination(503, "Service Unavailable", why))
            return
        try:
            termination = await self._place(session)
        except Exception:
            log.exception("call %s failed", self.call_id)
            termination = Termination("500", "Server Internal Error")
        finally:
            # the hang-up hook and the dialogs' handlers are closures over this call (cycles)
            self._on_stop = None
            self._dialogs.clear()
            if self.recording is not None:
                self.recording.stop(session)
            session.release()
            events.detach()
        self._end(termination)

    def _end(self, termination: Termination) -> None:
        if not self._ended:
            self._ended = True
            log.info("call %s ended: %s %s", self.call_id, termination.code, termination.reason)
            self.observer.ended(now(), termination)

    # -- the legs -----------------------------------------------------------------------
    async def _place(self, session: MediaSession) -> Termination:
        """Set up the phone leg, then ``_call_callee``; the call's termination."""
        raise NotImplementedError

    def _phone_failed(self, phone_dialog: Dialog, status: int, why: str | None) -> None:
        """The callee leg failed with ``status`` (or was given up, ``why``): end the phone leg."""
        self._bye(phone_dialog)

    def _phone_connect(self, session: MediaSession, phone_dialog: Dialog) -> None:
        """The callee answered: connect the phone leg, if it still waits."""

    def _phone_ringing(self, session: MediaSession, phone_dialog: Dialog) -> None:
        """The callee is being called: the agent hears the platform's ringback (then early media)."""
        session.ringback(Leg.AGENT, True)

    async def _call_callee(self, session: MediaSession, phone_dialog: Dialog) -> Termination:
        route = self.callee
        try:
            flow = await route.flow(self.server, self.resolver)
        except OSError as exc:
            log.warning("call %s: %s unreachable: %s", self.call_id, route.label, exc)
            self._phone_failed(phone_dialog, 503, None)
            return Termination("503", route.unreachable)
        if phone_dialog.state is DialogState.TERMINATED or self._stop_reason is not None:
            reason = self._stop_reason or calls.PHONE_HUNG_UP
            self._phone_failed(phone_dialog, 487, reason)
            return calls.failed_termination(487, "Request Terminated", reason)
        try:
            offer = session.make_offer(Leg.CALLEE)
        except MediaError as exc:
            self._phone_failed(phone_dialog, 488, None)
            return calls.failed_termination(488, "Not Acceptable Here", str(exc))
        callee_leg = invite(
            self.server,
            route.invite(self.server, self.call_id, flow, offer),
            flow,
            route.credentials(),
            on_provisional=lambda response: self._callee_provisional(session, response),
            dialogs=self.server.dialogs,
        )
        self._phone_ringing(session, phone_dialog)
        self.observer.callee_invited(now())
        log.info("call %s: calling %s", self.call_id, route.label)
        result, why = await self._ring_callee(callee_leg, phone_dialog)
        session.ringback(Leg.AGENT, False)
        response = result.response
        if result.dialog is None or not 200 <= response.status < 300:
            self._phone_failed(phone_dialog, response.status, why)
            return calls.failed_termination(response.status, response.reason, why)
        callee_dialog = result.dialog
        if result.cancelled:  # the callee answered as we cancelled: invite() ACKed and BYEd it
            why = why or calls.PHONE_HUNG_UP
            self._phone_failed(phone_dialog, 487, why)
            return calls.failed_termination(487, "Request Terminated", why)
        self.observer.callee_answered(now())
        refused = self._take_answer(session, response)
        if refused is not None:
            self._phone_failed(phone_dialog, 488, refused)
            self._bye(callee_dialog)
            return calls.answered_termination(refused)
        self._phone_connect(session, phone_dialog)
        self._dialogs[Leg.CALLEE] = callee_dialog
        callee_dialog.on_request = self._in_dialog(session, Leg.CALLEE)
        self.observer.leg_dialog(CALLEE_LEG, self._stored(CALLEE_LEG, callee_dialog), now())
        if self.recording is not None:
            self.recording.start(session)
        return await self._bridge(phone_dialog, callee_dialog)

    async def _ring_callee(
        self, callee_leg: OutgoingInvite, phone_dialog: Dialog
    ) -> tuple[InviteResult, str | None]:
        """Wait for the callee's final answer; the ring timeout, the phone hanging up or a stop cancel
        it. Returns the result and why it was cancelled."""
        why: list[str] = []

        def give_up(reason: str) -> None:
            if not why:
                why.append(reason)
            callee_leg.cancel()

        ring = asyncio.get_running_loop().call_later(
            self.limits.callee_ring_timeout, give_up, calls.CALLEE_NO_ANSWER
        )
        phone_dialog.on_terminated.append(lambda _dialog: give_up(calls.PHONE_HUNG_UP))
        self._on_stop = lambda: give_up(self._stop_reason or calls.SHUTDOWN)
        if self._stop_reason is not None:
            give_up(self._stop_reason)
        result = await callee_leg
        ring.cancel()
        self._on_stop = None
        return result, why[0] if why else None

    def _take_answer(self, session: MediaSession, response: SipResponse) -> str | None:
        """Give the callee's answer (in its 2xx, else the one in its 180/183) to the media session;
        None when taken, else why the call must end."""
        answer = response.body if has_sdp(response.body, response.header("Content-Type")) else None
        if answer is None or answer == self._early_answer:
            return None if self._early_answer is not None else calls.NO_CALLEE_ANSWER_SDP
        try:
            session.accept_answer(Leg.CALLEE, answer)
        except MediaError as exc:
            log.info("call %s: the callee's answer was refused: %s", self.call_id, exc)
            return f"{calls.NO_CALLEE_ANSWER_SDP}: {exc}"
        return None

    def _callee_provisional(self, session: MediaSession, response: SipResponse) -> None:
        if response.status not in (180, 183):
            return
        if not self._ringing_reported:
            self._ringing_reported = True
            self.observer.callee_ringing(now())
        body = response.body
        if has_sdp(body, response.header("Content-Type")) and body != self._early_answer:
            try:  # early media: the agent hears it instead of the ringback tone
                session.accept_answer(Leg.CALLEE, body)
            except MediaError as exc:
                log.info("call %s: the callee's early answer was refused: %s", self.call_id, exc)
            else:
                self._early_answer = body

    async def _bridge(self, phone: Dialog, callee: Dialog) -> Termination:
        first: list[str] = []
        done = asyncio.Event()

        def stop(reason: str) -> None:
            if not first:
                first.append(reason)
            done.set()

        phone.on_terminated.append(lambda _dialog: stop(calls.PHONE_HUNG_UP))
        callee.on_terminated.append(lambda _dialog: stop(calls.CALLEE_HUNG_UP))
        if phone.state is DialogState.TERMINATED:  # hung up while the callee was answering
            stop(calls.PHONE_HUNG_UP)
        self._on_stop = lambda: stop(self._stop_reason or calls.SHUTDOWN)
        if self._stop_reason is not None:
            stop(self._stop_reason)
        limits = self.limits
        cut = asyncio.get_running_loop().call_later(limits.max_duration, stop, limits.max_duration_reason)
        await done.wait()
        cut.cancel()
        for dialog in (phone, callee):
            self._bye(dialog)
        return calls.answered_termination(first[0])

    # -- in-dialog requests ---------------------------------------------------------------
    def _in_dialog(self, session: MediaSession, leg: Leg) -> Callable[[Dialog, ServerTransaction], None]:
        """The handler of the requests ``leg`` sends in its dialog, before and after the bridge."""

        def handle(dialog: Dialog, tx: ServerTransaction) -> None:
            method, request = tx.method, tx.request
            target = self._dialogs.get(leg.other)
            bridged = target is not None and target.state is not DialogState.TERMINATED
            if leg is Leg.CALLEE and method == "INFO":
                digit = calls.dtmf_digit(request.body.decode("utf-8", "replace"))
                if digit is not None:
                    self.observer.dtmf(digit)
            offers = has_sdp(request.body, request.header("Content-Type"))
            if method == "OPTIONS":
                tx.reply(200, headers=[("Allow", ALLOW)])
            elif method == "INVITE" and not offers:
                offer_in_2xx(session, leg, dialog, tx)
            elif method in ("INVITE", "UPDATE") and offers:
                if target is not None and bridged:
                    self.tasks.spawn(self._relay_offer(session, leg, dialog, tx, target))
                elif answer_locally(session, leg, dialog, tx):  # the callee still rings
                    self._report(leg, dialog)
            elif method in ("INFO", "UPDATE"):
                if target is not None and bridged:
                    self.tasks.spawn(self._relay(leg, dialog, tx, target))
                else:
                    tx.reply(200 if target is None else 481)  # nothing (yet, or any more) to carry it to
            else:
                tx.reply(405, headers=[("Allow", ALLOW)])

        return handle

    async def _relay_offer(
        self, session: MediaSession, leg: Leg, source: Dialog, tx: ServerTransaction, target: Dialog
    ) -> None:
        await relay_offer(session, leg, source, tx, target)
        self._report(leg, source)
        self._report(leg.other, target)

    async def _relay(self, leg: Leg, source: Dialog, tx: ServerTransaction, target: Dialog) -> None:
        """Relay, then report both dialogs: a target refresh moves one's Contact, the other's CSeq moved."""
        await relay(source, tx, target)
        self._report(leg, source)
        self._report(leg.other, target)

    def _report(self, leg: Leg, dialog: Dialog) -> None:
        if dialog.state is not DialogState.TERMINATED:
            name = _LEG_NAMES[leg]
            self.observer.leg_dialog(name, self._stored(name, dialog), now())

    def _stored(self, leg: str, dialog: Dialog) -> StoredDialog:
        # the phone's registered contact: where it listens, should its TCP connection be gone
        return StoredDialog.of(dialog, self.phone_contact if leg == PHONE_LEG else None)

    def _bye(self, dialog: Dialog) -> None:
        if dialog.state is not DialogState.TERMINATED:
            self.tasks.spawn(dialog.bye())
