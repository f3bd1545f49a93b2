"""A call dialled on a handset, as a B2BUA: the phone's INVITE is the phone leg (calls/b2bua.py).

1. The phone's offer goes to the media session; the phone gets ``183 Session Progress`` with the
   platform's answer at once, so it hears the platform's ringback tone, then the callee's early media.
2. The callee (trunk or colleague, its ``CalleeRoute``) is INVITEd with the platform's offer, as for
   click-to-call; a CANCEL from the phone cancels it.
3. The callee's 2xx: the phone gets ``200 OK`` (the same answer) and the legs are bridged.
   Its failure: the phone gets the callee's code (``486``, ``404``, ``503``...), a ring timeout
   ``480``, with a ``Reason`` header (RFC 3326) naming the callee's own answer.
"""

from __future__ import annotations

import asyncio
import contextlib

from sipline.calls.b2bua import B2buaCall, CallSetup, now
from sipline.calls.callee_route import CalleeRoute
from sipline.calls.in_dialog import has_sdp
from sipline.calls.observer import PHONE_LEG, CallObserver
from sipline.domain import calls
from sipline.domain.calls import Termination
from sipline.media.port import Leg, MediaError, MediaSession
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.sdp import SDP
from sipline.sip.server import SipServer
from sipline.sip.transaction import ServerTransaction

NO_ACK = "the phone did not acknowledge the answer"
NO_OFFER = "Not Acceptable Here (the INVITE must carry a session description)"


class HandsetCall(B2buaCall):
    """The call of one INVITE from a registered, authenticated phone; ``await run()``."""

    def __init__(
        self,
        server: SipServer,
        tx: ServerTransaction,
        callee: CalleeRoute,
        observer: CallObserver,
        setup: CallSetup,
    ) -> None:
        contacts = tx.request.contacts
        super().__init__(server, callee, observer, setup, str(contacts[0].uri) if contacts else "")
        self.tx = tx
        self._answer = b""  # the platform's answer to the phone's offer: in the 183 and the 200

    async def _place(self, session: MediaSession) -> Termination:
        tx, request = self.tx, self.tx.request
        if tx.cancelled or self._stop_reason is not None:  # CANCELled (487 sent) while accepted
            return calls.failed_termination(
                487, "Request Terminated", self._stop_reason or calls.PHONE_HUNG_UP
            )
        if not has_sdp(request.body, request.header("Content-Type")):
            tx.reply(488, NO_OFFER)
            return Termination("488", NO_OFFER)
        try:
            self._answer = session.accept_offer(Leg.AGENT, request.body)
        except MediaError as exc:
            tx.reply(488)
            return calls.failed_termination(488, "Not Acceptable Here", f"{calls.BAD_PHONE_SDP}: {exc}")
        dialog = self.server.dialogs.answer(tx, 183, body=self._answer, content_type=SDP)
        if dialog is None:  # no From tag or Contact: answered 400
            return Termination("400", "Bad Request (the INVITE cannot make a dialog)")
        self._dialogs[Leg.AGENT] = dialog
        dialog.on_request = self._in_dialog(session, Leg.AGENT)
        return await self._call_callee(session, dialog)

    def _phone_failed(self, phone_dialog: Dialog, status: int, why: str | None) -> None:
        if phone_dialog.state is DialogState.CONFIRMED:
            self._bye(phone_dialog)
        elif phone_dialog.state is DialogState.EARLY:
            code, phrase = phone_answer(status, why)
            headers = [("Reason", f'SIP;cause={status};text="{why or phrase}"')]
            self.server.dialogs.answer(self.tx, code, phrase, headers=headers)
        # TERMINATED: the phone cancelled (answered 487 by the dialog layer)

    def _phone_connect(self, session: MediaSession, phone_dialog: Dialog) -> None:
        if phone_dialog.state is not DialogState.EARLY or self.tx.cancelled:
            return  # the phone cancelled as the callee answered: the bridge ends at once
        self.server.dialogs.answer(self.tx, 200, body=self._answer, content_type=SDP)
        self.observer.leg_dialog(PHONE_LEG, self._stored(PHONE_LEG, phone_dialog), now())
        self.tasks.spawn(self._expect_ack(phone_dialog))

    async def _expect_ack(self, phone_dialog: Dialog) -> None:
        """RFC 3261 §13.3.1.4: a 2xx never ACKed (64*T1, while the transaction layer retransmits it)
        ends the call, or a phone that vanished would keep the callee, and its own busy state, up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(phone_dialog.acked.wait(), self.server.config.timers.timeout)
        if not phone_dialog.acked.is_set() and phone_dialog.state is not DialogState.TERMINATED:
            self.hang_up(NO_ACK)


def phone_answer(status: int, why: str | None) -> tuple[int, str | None]:
    """What the phone is told when its callee leg failed with ``status`` (given up: ``why``)."""
    if why == calls.CALLEE_NO_ANSWER:
        return 480, f"Temporarily Unavailable ({why})"
    if status == 487:  # given up for another reason: the platform is stopping, a media timeout
        return 503, f"Service Unavailable ({why})" if why else None
    if status < 300:  # the callee answered unusably (no common codec)
        return 488, f"Not Acceptable Here ({why})" if why else None
    return status, None  # the callee's own answer (486, 404, 603...), with its default phrase
