"""Placing a call as a UAC: INVITE (with one digest retry), ACK of the 2xx, CANCEL.

``call = invite(server, request, flow, credentials=DigestClient("trunk", "pw"))`` starts the
INVITE; ``call.cancel()`` hangs up while it rings; ``result = await call`` gives the final
response and, on 2xx, the confirmed ``Dialog`` (``await result.dialog.bye()`` ends it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from sipline.sip.auth_client import with_credentials
from sipline.sip.dialog import Dialog, DialogTable, Sender, layer_of
from sipline.sip.digest import DigestClient
from sipline.sip.errors import SipParseError
from sipline.sip.message import SipRequest, SipResponse
from sipline.sip.transaction import ClientTransaction, State
from sipline.sip.transport import Flow

log = logging.getLogger(__name__)

ProvisionalCallback = Callable[[SipResponse], None]


@dataclass
class InviteResult:
    response: SipResponse  # the final response (408/503 synthesized by the transaction layer)
    dialog: Dialog | None  # the confirmed dialog on 2xx (already terminated if we cancelled)
    provisional: list[SipResponse] = field(default_factory=list)
    cancelled: bool = False  # cancel() was called
    cancel_response: SipResponse | None = None  # 200 or 481 to our CANCEL, when one was sent


def build_cancel(invite: SipRequest) -> SipRequest:
    """CANCEL for a sent INVITE (§9.1): its top Via (same branch), R-URI, From, To, Call-ID, Route."""
    fields: list[tuple[str, str]] = [("Via", str(invite.top_via)), ("Max-Forwards", "70")]
    fields += [(n, v) for n, v in invite.fields if n in ("Route", "From", "To", "Call-ID")]
    fields.append(("CSeq", f"{invite.cseq.number} CANCEL"))
    return SipRequest("CANCEL", invite.uri, fields)


class OutgoingInvite:
    """An INVITE in progress; await it for the ``InviteResult``. Made by ``invite()``."""

    def __init__(
        self,
        sender: Sender,
        request: SipRequest,
        flow: Flow,
        *,
        credentials: DigestClient | None = None,
        on_provisional: ProvisionalCallback | None = None,
        dialogs: DialogTable | None = None,
        auto_ack: bool = True,
    ) -> None:
        self.sender = sender
        self.auto_ack = auto_ack
        self.layer = layer_of(sender)
        self.request = request
        self.flow = flow
        self.credentials = credentials
        self.on_provisional = on_provisional
        self.dialogs = dialogs
        self.provisional: list[SipResponse] = []
        self.cancelled = False
        self._tx: ClientTransaction
        self._cancel_tx: ClientTransaction | None = None
        self._give_up: asyncio.TimerHandle | None = None
        self._answered_request: SipRequest | None = None  # the INVITE the 2xx answered (for its ACK)
        self._dialog: Dialog | None = None
        self._acked = False
        # sent right away, so that a cancel() straight after invite() finds the INVITE on its way
        self._tx = self.layer.send_request(request, flow, on_provisional=self._provisional)
        self._task = asyncio.create_task(self._run())

    def __await__(self) -> Generator[Any, None, InviteResult]:
        return self._task.__await__()

    def cancel(self) -> None:
        """Hang up a ringing call. The CANCEL waits for a provisional response (§9.1)."""
        if self.cancelled or self._task.done():
            return
        self.cancelled = True
        if self._tx.provisional:
            self._send_cancel()

    def _send_cancel(self) -> None:
        tx = self._tx
        if self._cancel_tx is not None or tx.state is not State.PROCEEDING:
            return
        self._cancel_tx = self.layer.send_request(build_cancel(tx.request), self.flow)
        # §9.1: without a final response 64*T1 after the CANCEL, the INVITE is given up
        self._give_up = asyncio.get_running_loop().call_later(self.layer.timers.timeout, tx.terminate)

    def _provisional(self, response: SipResponse) -> None:
        self.provisional.append(response)
        if self.cancelled:
            self._send_cancel()
        if self.on_provisional is not None:
            self.on_provisional(response)

    async def _run(self) -> InviteResult:
        request = self.request
        response = await self._tx.final_response()
        if response.status in (401, 407) and self.credentials is not None and not self.cancelled:
            try:
                request = with_credentials(request, response, self.credentials)
            except SipParseError as exc:
                log.info("cannot answer the %d challenge: %s", response.status, exc)
            else:
                response = await self._send(request)
        if self._give_up is not None:
            self._give_up.cancel()  # a final arrived: keep the transaction for 2xx retransmissions
        dialog: Dialog | None = None
        if 200 <= response.status < 300 and response.to.tag is not None:
            dialog = Dialog.from_uac(request, response, self.flow, sender=self.sender)
            self._answered_request, self._dialog = request, dialog
            if self.dialogs is not None:
                self.dialogs.add(dialog)
            if self.auto_ack or self.cancelled:
                self.ack()
            if self.cancelled:  # the 2xx crossed our CANCEL: the call must still be ended
                await dialog.bye()
        cancel_response = None
        if self._cancel_tx is not None:
            cancel_response = await self._cancel_tx.final_response()
        return InviteResult(response, dialog, self.provisional, self.cancelled, cancel_response)

    def ack(self, body: bytes = b"", content_type: str | None = None) -> None:
        """ACK the 2xx (with the session answer when the 2xx carried the offer, RFC 3264).

        Called by ``invite()`` itself unless it was made with ``auto_ack=False``; the ACK is
        re-sent for every retransmission of the 2xx. Does nothing before a 2xx or twice.
        """
        if self._dialog is None or self._answered_request is None or self._acked:
            return
        self._acked = True
        ack = self._dialog.create_ack(self._answered_request)
        if content_type is not None:
            ack.add_header("Content-Type", content_type)
        ack.body = body
        self._tx.send_ack(ack)

    async def _send(self, request: SipRequest) -> SipResponse:
        self._tx = self.layer.send_request(request, self.flow, on_provisional=self._provisional)
        return await self._tx.final_response()


def invite(
    sender: Sender,
    request: SipRequest,
    flow: Flow,
    credentials: DigestClient | None = None,
    *,
    on_provisional: ProvisionalCallback | None = None,
    dialogs: DialogTable | None = None,
    auto_ack: bool = True,
) -> OutgoingInvite:
    """Send ``request`` (an INVITE with From tag and Contact) and follow it to the end.

    ``sender`` is a TransactionLayer or a SipServer. A 401/407 is answered once with
    ``credentials``. On 2xx the dialog is created (and added to ``dialogs``) and ACKed, or,
    with ``auto_ack=False``, ACKed when the caller calls ``ack()`` (RFC 3725 flow I: the
    answer to the 2xx's offer comes from the other leg).
    Raises ValueError for a request that cannot create a dialog.
    """
    # checked on the raw headers: parsing our own From and Contact back would cost more than the check
    from_value, contact = request.header("From") or "", request.header("Contact")
    if request.method != "INVITE" or ";tag=" not in from_value.replace(" ", "").lower() or not contact:
        raise ValueError("an INVITE with a From tag and a Contact is needed")
    return OutgoingInvite(
        sender,
        request,
        flow,
        credentials=credentials,
        on_provisional=on_provisional,
        dialogs=dialogs,
        auto_ack=auto_ack,
    )
