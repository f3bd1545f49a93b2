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

from sipline.calls.b2bua import B2buaCall, CallSetup, now
from sipline.calls.callee_route import TrunkRoute
from sipline.calls.in_dialog import has_sdp
from sipline.calls.invites import phone_invite
from sipline.calls.observer import PHONE_LEG, CallObserver
from sipline.calls.targets import CalleeTarget, PhoneTarget
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.media.port import Leg, MediaError, MediaSession
from sipline.sip.dialog import Dialog
from sipline.sip.message import SipResponse
from sipline.sip.sdp import SDP, SdpError, rejecting_answer
from sipline.sip.server import SipServer
from sipline.sip.uac import OutgoingInvite, invite

log = logging.getLogger(__name__)


class ClickToCall(B2buaCall):
    """One click-to-call; ``await run()`` places it and returns when it is over."""

    def __init__(
        self,
        server: SipServer,
        phone: PhoneTarget,
        callee: CalleeTarget,
        observer: CallObserver,
        setup: CallSetup,
    ) -> None:
        super().__init__(server, TrunkRoute(callee), observer, setup, phone.contact)
        self.phone = phone
        self.callee_target = callee
        self._phone_ringing_reported = False

    # -- the phone leg -------------------------------------------------------------------
    async def _place(self, session: MediaSession) -> Termination:
        loop = asyncio.get_running_loop()
        log.info("call %s: ringing phone %s at %s", self.call_id, self.phone.account, self.phone.contact)
        request = phone_invite(self.server, self.call_id, self.phone, self.callee_target.number)
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

    def _phone_provisional(self, response: SipResponse) -> None:
        if response.status in (180, 183) and not self._phone_ringing_reported:
            self._phone_ringing_reported = True
            self.observer.phone_ringing(now())

    def _refuse(
        self, phone_leg: OutgoingInvite, dialog: Dialog, offer: bytes, offer_type: str | None
    ) -> None:
        """End a phone leg whose 2xx cannot be taken: ACK with an answer rejecting it, then BYE."""
        phone_leg.ack(*_rejection(offer, offer_type))
        self._bye(dialog)


def _rejection(offer: bytes, offer_type: str | None) -> tuple[bytes, str | None]:
    if not has_sdp(offer, offer_type):
        return b"", None
    try:
        return rejecting_answer(offer), SDP
    except SdpError:
        return b"", None
