"""Click-to-call as a B2BUA, agent first (GUIDE section 3), with end-to-end SDP (RFC 3725 flow I).

1. INVITE the agent's phone (no SDP) on the flow it registered on; From shows the callee's number.
   A ring timeout ends in CANCEL.
2. The phone answers with an offer; the 2xx is held un-ACKed while the callee is called through the
   trunk with that offer, displayNum as caller ID (401/407 answered with the trunk's credentials).
3. The callee's 2xx carries the answer: it goes to the phone in the ACK, and the legs are bridged:
   re-INVITEs (hold), INFO and UPDATE are carried across, either side's BYE ends the other.
   A failed callee leg ends the phone leg (ACK with a rejecting answer, then BYE).

What happens is reported to a ``CallObserver`` with the time each SIP message was sent or received,
including each leg's dialog as it is established or changed (``StoredDialog``: what a node restarted
after a crash needs to send BYE).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sipline.calls.background import BackgroundTasks
from sipline.calls.in_dialog import relay
from sipline.calls.observer import CALLEE_LEG, PHONE_LEG, CallObserver
from sipline.calls.targets import CalleeTarget, CallLimits, PhoneTarget
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.domain.trunks import CallerIdMode
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipRequest, SipResponse
from sipline.sip.random_ids import random_hex
from sipline.sip.sdp import SDP, SdpError, rejecting_answer
from sipline.sip.server import SipServer
from sipline.sip.stored_dialog import StoredDialog
from sipline.sip.transaction import ServerTransaction, new_tag
from sipline.sip.transport import Flow
from sipline.sip.uac import OutgoingInvite, invite

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS, UPDATE"
_RELAYED = frozenset({"INVITE", "INFO", "UPDATE"})


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
        *,
        limits: CallLimits | None = None,
        call_id: str | None = None,
        resolver: TrunkResolver | None = None,
        tasks: BackgroundTasks | None = None,
    ) -> None:
        self.server = server
        self.resolver = resolver or TrunkResolver()
        self.tasks = tasks or BackgroundTasks()  # BYEs and relays that may outlive the call
        self.phone = phone
        self.callee = callee
        self.observer = observer
        self.limits = limits or CallLimits()
        self.call_id = call_id or random_hex(12)
        self._stop_reason: str | None = None
        self._on_stop: Callable[[], None] | None = None
        self._stopped = asyncio.Event()
        self._ringing_reported = False
        self._ended = False

    # -- control -----------------------------------------------------------------------
    def hang_up(self, reason: str) -> None:
        """End the call from outside (shutdown, balance); whatever leg exists is cancelled or BYEd."""
        if self._stop_reason is None:
            self._stop_reason = reason
            self._stopped.set()
            if self._on_stop is not None:
                self._on_stop()

    async def run(self) -> None:
        try:
            termination = await self._place()
        except Exception:
            log.exception("call %s failed", self.call_id)
            termination = Termination("500", "Server Internal Error")
        finally:
            # the hang-up hook is a closure over this call (a cycle): nothing is left to stop
            self._on_stop = None
        self._end(termination)

    def _end(self, termination: Termination) -> None:
        if not self._ended:
            self._ended = True
            log.info("call %s ended: %s %s", self.call_id, termination.code, termination.reason)
            self.observer.ended(now(), termination)

    # -- the two legs ------------------------------------------------------------------
    async def _place(self) -> Termination:
        loop = asyncio.get_running_loop()
        log.info("call %s: ringing phone %s at %s", self.call_id, self.phone.account, self.phone.contact)
        phone_leg = invite(
            self.server, self._phone_invite(), self.phone.flow, dialogs=self.server.dialogs, auto_ack=False
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
        response = result.response
        if result.dialog is None or not 200 <= response.status < 300:
            why = calls.PHONE_NO_ANSWER if timed_out else self._stop_reason
            if response.status in (408, 503) and not timed_out and not result.cancelled:
                why = calls.NOT_REACHABLE
            return calls.failed_termination(response.status, response.reason, why)
        phone_dialog = result.dialog
        offer, offer_type = response.body, response.header("Content-Type")
        if result.cancelled:  # the phone's 2xx crossed our CANCEL: invite() ACKed and BYEd it
            return calls.failed_termination(
                487, "Request Terminated", self._stop_reason or calls.PHONE_NO_ANSWER
            )
        if not offer or self._stop_reason is not None:
            phone_leg.ack(*_rejection(offer, offer_type))
            self._bye(phone_dialog)
            if self._stop_reason is not None:
                return calls.failed_termination(487, "Request Terminated", self._stop_reason)
            return Termination(
                "488", "Not Acceptable Here (the phone answered without a session description)"
            )
        self.observer.leg_dialog(PHONE_LEG, self._stored(PHONE_LEG, phone_dialog), now())
        return await self._call_callee(phone_leg, phone_dialog, offer, offer_type or SDP)

    async def _call_callee(
        self, phone_leg: OutgoingInvite, phone_dialog: Dialog, offer: bytes, offer_type: str
    ) -> Termination:
        trunk = self.callee.trunk
        try:
            flow = await self.server.flow_to(
                trunk.transport, await self.resolver.resolve(trunk.host, trunk.port)
            )
        except OSError as exc:
            log.warning("trunk %s unreachable: %s", trunk.name, exc)
            phone_leg.ack(rejecting_answer(offer), SDP)
            self._bye(phone_dialog)
            return Termination("503", f"Service Unavailable (trunk {trunk.name} unreachable)")
        credentials = (
            DigestClient(trunk.username, trunk.password or "", trunk.realm)
            if trunk.username is not None
            else None
        )
        callee_leg = invite(
            self.server,
            self._callee_invite(flow, offer, offer_type),
            flow,
            credentials,
            on_provisional=self._callee_provisional,
            dialogs=self.server.dialogs,
        )
        self.observer.callee_invited(now())
        log.info(
            "call %s: phone answered, calling %s via trunk %s", self.call_id, self.callee.dialled, trunk.name
        )
        why: list[str] = []

        def give_up(reason: str) -> None:
            if not why:
                why.append(reason)
            callee_leg.cancel()

        loop = asyncio.get_running_loop()
        ring = loop.call_later(self.limits.callee_ring_timeout, give_up, calls.CALLEE_NO_ANSWER)
        phone_dialog.on_terminated.append(lambda _dialog: give_up(calls.PHONE_HUNG_UP))
        self._on_stop = lambda: give_up(self._stop_reason or calls.SHUTDOWN)
        result = await callee_leg
        ring.cancel()
        response = result.response
        if result.dialog is None or not 200 <= response.status < 300:
            phone_leg.ack(rejecting_answer(offer), SDP)
            self._bye(phone_dialog)
            return calls.failed_termination(response.status, response.reason, why[0] if why else None)
        callee_dialog = result.dialog
        if result.cancelled:  # the callee answered as we cancelled: invite() ACKed and BYEd it
            self._bye(phone_dialog)
            reason = why[0] if why else calls.PHONE_HUNG_UP
            return calls.failed_termination(487, "Request Terminated", reason)
        self.observer.callee_answered(now())
        answer, answer_type = response.body, response.header("Content-Type")
        if not answer:
            phone_leg.ack(rejecting_answer(offer), SDP)
            self._bye(phone_dialog)
            self._bye(callee_dialog)
            return calls.answered_termination("the callee answered without a session description")
        self.observer.leg_dialog(CALLEE_LEG, self._stored(CALLEE_LEG, callee_dialog), now())
        phone_leg.ack(answer, answer_type or SDP)
        return await self._bridge(phone_dialog, callee_dialog)

    async def _bridge(self, phone: Dialog, callee: Dialog) -> Termination:
        first: list[str] = []
        done = asyncio.Event()

        def ended_by(reason: str) -> Callable[[Dialog], None]:
            def on_terminated(_dialog: Dialog) -> None:
                if not first:
                    first.append(reason)
                done.set()

            return on_terminated

        phone.on_terminated.append(ended_by(calls.PHONE_HUNG_UP))
        callee.on_terminated.append(ended_by(calls.CALLEE_HUNG_UP))
        phone.on_request = self._relay_to(callee, from_callee=False)
        callee.on_request = self._relay_to(phone, from_callee=True)
        if phone.state is DialogState.TERMINATED:  # hung up while the callee was answering
            first.append(calls.PHONE_HUNG_UP)
            done.set()

        def stop(reason: str) -> None:
            if not first:
                first.append(reason)
            done.set()

        self._on_stop = lambda: stop(self._stop_reason or calls.SHUTDOWN)
        if self._stop_reason is not None:
            stop(self._stop_reason)
        limits = self.limits
        cut = asyncio.get_running_loop().call_later(limits.max_duration, stop, limits.max_duration_reason)
        await done.wait()
        cut.cancel()
        for dialog in (phone, callee):
            if dialog.state is not DialogState.TERMINATED:
                self._bye(dialog)
        return calls.answered_termination(first[0])

    # -- in-dialog requests across the bridge ---------------------------------------------
    def _relay_to(self, target: Dialog, *, from_callee: bool) -> Callable[[Dialog, ServerTransaction], None]:
        def handle(dialog: Dialog, tx: ServerTransaction) -> None:
            request = tx.request
            if from_callee and tx.method == "INFO":
                digit = calls.dtmf_digit(request.body.decode("utf-8", "replace"))
                if digit is not None:
                    self.observer.dtmf(digit)
            if tx.method in _RELAYED and target.state is not DialogState.TERMINATED:
                self.tasks.spawn(self._relay_and_report(dialog, tx, target, from_callee=from_callee))
            elif tx.method == "OPTIONS":
                tx.reply(200, headers=[("Allow", ALLOW)])
            elif tx.method in _RELAYED:
                tx.reply(481)
            else:
                tx.reply(405, headers=[("Allow", ALLOW)])

        return handle

    async def _relay_and_report(
        self, source: Dialog, tx: ServerTransaction, target: Dialog, *, from_callee: bool
    ) -> None:
        """Relay, then report both dialogs: a target refresh moves one's Contact, the other's CSeq moved."""
        await relay(source, tx, target)
        at = now()
        legs = (
            ((CALLEE_LEG, source), (PHONE_LEG, target))
            if from_callee
            else ((PHONE_LEG, source), (CALLEE_LEG, target))
        )
        for leg, dialog in legs:
            if dialog.state is not DialogState.TERMINATED:
                self.observer.leg_dialog(leg, self._stored(leg, dialog), at)

    def _stored(self, leg: str, dialog: Dialog) -> StoredDialog:
        # the phone's registered contact: where it listens, should its TCP connection be gone
        return StoredDialog.of(dialog, self.phone.contact if leg == PHONE_LEG else None)

    # -- building the INVITEs -------------------------------------------------------------
    def _common_headers(self, flow: Flow) -> list[tuple[str, str]]:
        host, port = self.server.contact_address(flow)
        transport = "" if flow.transport == "udp" else f";transport={flow.transport}"
        return [
            ("Contact", f"<sip:{host}:{port}{transport}>"),
            ("Allow", ALLOW),
            ("User-Agent", self.server.config.user_agent),
        ]

    def _phone_invite(self) -> SipRequest:
        domain = self.server.config.domain
        number = self.callee.number
        fields = [
            ("Max-Forwards", "70"),
            ("From", f'"{number}" <sip:{number}@{domain}>;tag={new_tag()}'),
            ("To", f"<sip:{self.phone.account}@{domain}>"),
            ("Call-ID", f"{self.call_id}-a"),
            ("CSeq", "1 INVITE"),
            *self._common_headers(self.phone.flow),
        ]
        return SipRequest("INVITE", self.phone.contact, fields)

    def _callee_invite(self, flow: Flow, offer: bytes, offer_type: str) -> SipRequest:
        trunk = self.callee.trunk
        host = trunk.uri_host if trunk.domain else f"{trunk.host}:{trunk.port}"
        transport = "" if trunk.transport == "udp" else f";transport={trunk.transport}"
        dialled, caller = self.callee.dialled, self.callee.caller_id
        caller_uri = f"sip:{caller}@{trunk.uri_host}"
        fields = [
            ("Max-Forwards", "70"),
            ("From", f'"{caller}" <{caller_uri}>;tag={new_tag()}'),
            ("To", f"<sip:{dialled}@{trunk.uri_host}>"),
            ("Call-ID", f"{self.call_id}-b"),
            ("CSeq", "1 INVITE"),
            *self._common_headers(flow),
            ("Content-Type", offer_type),
        ]
        if trunk.caller_id is CallerIdMode.PAI:
            fields.append(("P-Asserted-Identity", f"<{caller_uri}>"))
        elif trunk.caller_id is CallerIdMode.RPID:
            fields.append(
                ("Remote-Party-ID", f'"{caller}" <{caller_uri}>;party=calling;screen=yes;privacy=off')
            )
        return SipRequest("INVITE", f"sip:{dialled}@{host}{transport}", fields, offer)

    def _callee_provisional(self, response: SipResponse) -> None:
        if response.status in (180, 183) and not self._ringing_reported:
            self._ringing_reported = True
            self.observer.callee_ringing(now())

    def _bye(self, dialog: Dialog) -> None:
        if dialog.state is not DialogState.TERMINATED:
            self.tasks.spawn(dialog.bye())


def _rejection(offer: bytes, offer_type: str | None) -> tuple[bytes, str | None]:
    if not offer or (offer_type or "").split(";")[0].strip().lower() != SDP:
        return b"", None
    try:
        return rejecting_answer(offer), SDP
    except SdpError:
        return b"", None
