"""Click-to-call as a B2BUA, agent first (GUIDE section 3), with the media anchored in the platform.

1. A media session is allocated (no free port: the call fails with 503, nothing rings).
2. INVITE the agent's phone (no SDP) on the flow it registered on; From shows the callee's number.
   A ring timeout ends in CANCEL.
3. The phone answers with an offer; the media session answers it and the phone is ACKed at once with
   that answer, so the callee may ring as long as ``callee_ring_timeout``.
4. The callee is INVITEd through the trunk with the platform's offer, displayNum as caller ID
   (401/407 answered with the trunk's credentials). While it rings the agent hears a ringback tone,
   or the callee's early media once a 180/183 brings its answer. Its 2xx answer goes to the media
   session, the call is recorded, and the legs are bridged: re-INVITEs (hold) and UPDATEs are
   answered by the media session and the platform's own offer goes to the other leg; INFO is carried
   across; either side's BYE ends the other. A failed callee leg ends the phone leg with BYE.
5. The media session is released whatever the end.

What happens is reported to a ``CallObserver`` with the time each SIP message was sent or received,
including each leg's dialog as it is established or changed (``StoredDialog``: what a node restarted
after a crash needs to send BYE). The media session's events (RFC 4733 digits, media timeout, RTP
activity) come through ``CallMediaEvents``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sipline.calls.background import BackgroundTasks
from sipline.calls.in_dialog import answer_locally, has_sdp, offer_in_2xx, relay, relay_offer
from sipline.calls.invites import ALLOW, callee_invite, phone_invite
from sipline.calls.media_events import CallMediaEvents
from sipline.calls.observer import CALLEE_LEG, PHONE_LEG, CallObserver
from sipline.calls.recording import CallRecording
from sipline.calls.targets import CalleeTarget, CallLimits, PhoneTarget
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.media.port import Leg, MediaError, MediaPlane, MediaSession, NoFreePort
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipResponse
from sipline.sip.random_ids import random_hex
from sipline.sip.sdp import SDP, SdpError, rejecting_answer
from sipline.sip.server import SipServer
from sipline.sip.stored_dialog import StoredDialog
from sipline.sip.transaction import ServerTransaction
from sipline.sip.uac import InviteResult, OutgoingInvite, invite

log = logging.getLogger(__name__)

_LEG_NAMES = {Leg.AGENT: PHONE_LEG, Leg.CALLEE: CALLEE_LEG}


def now() -> datetime:
    return datetime.now(UTC)


class ClickToCall:
    """One click-to-call; ``await run()`` places it and returns when it is over."""

    def __init__(
        self,
        server: SipServer,
        phone: PhoneTarget,
        callee: CalleeTarget,
        observer: CallObserver,
        media: MediaPlane,
        *,
        limits: CallLimits | None = None,
        call_id: str | None = None,
        resolver: TrunkResolver | None = None,
        tasks: BackgroundTasks | None = None,
        recording: CallRecording | None = None,
    ) -> None:
        self.server = server
        self.media = media
        self.resolver = resolver or TrunkResolver()
        self.tasks = tasks or BackgroundTasks()  # BYEs and relays that may outlive the call
        self.recording = recording  # None: calls are not recorded
        self.phone = phone
        self.callee = callee
        self.observer = observer
        self.limits = limits or CallLimits()
        self.call_id = call_id or random_hex(12)
        self._stop_reason: str | None = None
        self._on_stop: Callable[[], None] | None = None
        self._dialogs: dict[Leg, Dialog] = {}  # each leg's, once established
        self._ringing_reported = False
        self._phone_ringing_reported = False
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

    # -- the two legs ------------------------------------------------------------------
    async def _place(self, session: MediaSession) -> Termination:
        loop = asyncio.get_running_loop()
        log.info("call %s: ringing phone %s at %s", self.call_id, self.phone.account, self.phone.contact)
        request = phone_invite(self.server, self.call_id, self.phone, self.callee.number)
        phone_leg = invite(
            self.server,
            request,
            self.phone.flow,
            dialogs=self.server.dialogs,
            auto_ack=False,
            on_provisional=self._phone_provisional,
        )
        timed_out: list[bool] = []

        def ring_timeout() -> None:
            timed_out.append(True)
            phone_leg.cancel()

        ring = loop.call_later(self.limits.phone_ring_timeout, ring_timeout)
        self._on_stop = phone_leg.cancel
        if self._stop_reason is not None:
            phone_leg.cancel()
        result = await phone_leg
        ring.cancel()
        self._on_stop = None
        response = result.response
        if result.dialog is None or not 200 <= response.status < 300:
            why = calls.PHONE_NO_ANSWER if timed_out else self._stop_reason
            if response.status in (408, 503) and not timed_out and not result.cancelled:
                why = calls.NOT_REACHABLE
            return calls.failed_termination(response.status, response.reason, why)
        phone_dialog = result.dialog
        if result.cancelled:  # the phone's 2xx crossed our CANCEL: invite() ACKed and BYEd it
            return calls.failed_termination(
                487, "Request Terminated", self._stop_reason or calls.PHONE_NO_ANSWER
            )
        self.observer.phone_answered(now())
        offer, offer_type = response.body, response.header("Content-Type")
        if self._stop_reason is not None:
            self._refuse(phone_leg, phone_dialog, offer, offer_type)
            return calls.failed_termination(487, "Request Terminated", self._stop_reason)
        if not has_sdp(offer, offer_type):
            self._refuse(phone_leg, phone_dialog, offer, offer_type)
            return Termination(
                "488", "Not Acceptable Here (the phone answered without a session description)"
            )
        try:
            answer = session.accept_offer(Leg.AGENT, offer)
        except MediaError as exc:
            log.info("call %s: the phone's offer was refused: %s", self.call_id, exc)
            self._refuse(phone_leg, phone_dialog, offer, offer_type)
            return calls.failed_termination(488, "Not Acceptable Here", f"{calls.BAD_PHONE_SDP}: {exc}")
        phone_leg.ack(answer, SDP)  # at once: the phone no longer waits for the callee
        self._dialogs[Leg.AGENT] = phone_dialog
        phone_dialog.on_request = self._in_dialog(session, Leg.AGENT)
        self.observer.leg_dialog(PHONE_LEG, self._stored(PHONE_LEG, phone_dialog), now())
        return await self._call_callee(session, phone_dialog)

    async def _call_callee(self, session: MediaSession, phone_dialog: Dialog) -> Termination:
        trunk = self.callee.trunk
        try:
            address = await self.resolver.resolve(trunk.host, trunk.port)
            flow = await self.server.flow_to(trunk.transport, address)
        except OSError as exc:
            log.warning("trunk %s unreachable: %s", trunk.name, exc)
            self._bye(phone_dialog)
            return Termination("503", f"Service Unavailable (trunk {trunk.name} unreachable)")
        if phone_dialog.state is DialogState.TERMINATED or self._stop_reason is not None:
            self._bye(phone_dialog)
            reason = self._stop_reason or calls.PHONE_HUNG_UP
            return calls.failed_termination(487, "Request Terminated", reason)
        try:
            offer = session.make_offer(Leg.CALLEE)
        except MediaError as exc:
            self._bye(phone_dialog)
            return calls.failed_termination(488, "Not Acceptable Here", str(exc))
        credentials = (
            DigestClient(trunk.username, trunk.password or "", trunk.realm)
            if trunk.username is not None
            else None
        )
        callee_leg = invite(
            self.server,
            callee_invite(self.server, self.call_id, self.callee, flow, offer),
            flow,
            credentials,
            on_provisional=lambda response: self._callee_provisional(session, response),
            dialogs=self.server.dialogs,
        )
        session.ringback(Leg.AGENT, True)
        self.observer.callee_invited(now())
        log.info(
            "call %s: phone answered, calling %s via trunk %s", self.call_id, self.callee.dialled, trunk.name
        )
        result, why = await self._ring_callee(callee_leg, phone_dialog)
        session.ringback(Leg.AGENT, False)
        response = result.response
        if result.dialog is None or not 200 <= response.status < 300:
            self._bye(phone_dialog)
            return calls.failed_termination(response.status, response.reason, why)
        callee_dialog = result.dialog
        if result.cancelled:  # the callee answered as we cancelled: invite() ACKed and BYEd it
            self._bye(phone_dialog)
            return calls.failed_termination(487, "Request Terminated", why or calls.PHONE_HUNG_UP)
        self.observer.callee_answered(now())
        refused = self._take_answer(session, response)
        if refused is not None:
            self._bye(phone_dialog)
            self._bye(callee_dialog)
            return calls.answered_termination(refused)
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

    def _phone_provisional(self, response: SipResponse) -> None:
        if response.status in (180, 183) and not self._phone_ringing_reported:
            self._phone_ringing_reported = True
            self.observer.phone_ringing(now())

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
        return StoredDialog.of(dialog, self.phone.contact if leg == PHONE_LEG else None)

    def _refuse(
        self, phone_leg: OutgoingInvite, dialog: Dialog, offer: bytes, offer_type: str | None
    ) -> None:
        """End a phone leg whose 2xx cannot be taken: ACK with an answer rejecting it, then BYE."""
        phone_leg.ack(*_rejection(offer, offer_type))
        self._bye(dialog)

    def _bye(self, dialog: Dialog) -> None:
        if dialog.state is not DialogState.TERMINATED:
            self.tasks.spawn(dialog.bye())


def _rejection(offer: bytes, offer_type: str | None) -> tuple[bytes, str | None]:
    if not has_sdp(offer, offer_type):
        return b"", None
    try:
        return rejecting_answer(offer), SDP
    except SdpError:
        return b"", None
