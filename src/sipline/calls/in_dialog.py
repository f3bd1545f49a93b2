"""In-dialog requests across the bridge, with the media anchored in the platform.

Each leg has its own offer/answer with the platform (media/port.py), so a session description is
never carried from one leg to the other: an offer from leg X is answered by the media session, and
the other leg gets the platform's own offer (``relay_offer``). INFO and UPDATE without a session
description are carried across as they are (``relay``).
"""

from __future__ import annotations

import logging

from sipline.media.port import Leg, MediaError, MediaSession
from sipline.sip.dialog import Dialog
from sipline.sip.message import SipRequest
from sipline.sip.sdp import SDP
from sipline.sip.transaction import ServerTransaction

log = logging.getLogger("sipline.calls")


def has_sdp(message_body: bytes, content_type: str | None) -> bool:
    return bool(message_body) and (content_type or "").split(";")[0].strip().lower() == SDP


async def relay(source: Dialog, tx: ServerTransaction, target: Dialog) -> None:
    """Send ``tx``'s request on ``target`` and answer ``tx`` with what came back."""
    request = tx.request
    content_type = request.header("Content-Type")
    try:
        response = await target.request(
            tx.method, body=request.body, content_type=content_type if request.body else None
        )
    except RuntimeError:  # the other leg ended meanwhile
        tx.reply(481)
        return
    body_type = response.header("Content-Type")
    headers = [("Content-Type", body_type)] if response.body and body_type else []
    status = response.status if response.status >= 200 else 500
    tx.reply(status, response.reason, headers=headers, body=response.body if body_type else b"")


def answer_locally(session: MediaSession, leg: Leg, source: Dialog, tx: ServerTransaction) -> bool:
    """Answer an offer from ``leg`` with the platform's answer, the other leg untouched (while the
    callee rings). False, with 488 sent, when the media plane refuses it."""
    answer = _accepted(session, leg, tx)
    if answer is None:
        return False
    _reply_2xx(source, tx, answer)
    return True


async def relay_offer(
    session: MediaSession, leg: Leg, source: Dialog, tx: ServerTransaction, target: Dialog
) -> None:
    """An offer from ``leg`` (re-INVITE for hold, codec change; UPDATE): the platform answers it, and
    the other leg gets the platform's new offer; its answer goes to the media session."""
    answer = _accepted(session, leg, tx)
    if answer is None:
        return
    other = leg.other
    try:
        offer = session.make_offer(other)
        response = await target.request(tx.method, body=offer, content_type=SDP)
    except MediaError as exc:
        log.info("no offer for the %s leg: %s", other, exc)
        _reply_2xx(source, tx, answer)  # this leg's own exchange still succeeded
        return
    except RuntimeError:  # the other leg ended meanwhile
        tx.reply(481)
        return
    if not 200 <= response.status < 300:
        tx.reply(response.status if response.status >= 200 else 500, response.reason)
        return
    _take_answer(session, other, response.body, response.header("Content-Type"))
    _reply_2xx(source, tx, answer)


def offer_in_2xx(session: MediaSession, leg: Leg, source: Dialog, tx: ServerTransaction) -> None:
    """A re-INVITE without an offer (a session refresh): the platform offers in its 200, and the
    answer comes in the ACK."""
    try:
        offer = session.make_offer(leg)
    except MediaError as exc:
        tx.reply(488, f"Not Acceptable Here ({exc})"[:200])
        return

    def answered(dialog: Dialog, ack: SipRequest) -> None:
        dialog.on_ack = None
        _take_answer(session, leg, ack.body, ack.header("Content-Type"))

    _reply_2xx(source, tx, offer)
    source.on_ack = answered


def _take_answer(session: MediaSession, leg: Leg, body: bytes, content_type: str | None) -> None:
    """The leg's answer to the platform's offer, when the message has one (a refused one is logged:
    the leg keeps its previous media)."""
    if has_sdp(body, content_type):
        try:
            session.accept_answer(leg, body)
        except MediaError as exc:
            log.info("the %s leg's answer was refused: %s", leg, exc)


def _accepted(session: MediaSession, leg: Leg, tx: ServerTransaction) -> bytes | None:
    try:
        return session.accept_offer(leg, tx.request.body)
    except MediaError as exc:
        tx.reply(488, f"Not Acceptable Here ({exc})"[:200])
        return None


def _reply_2xx(source: Dialog, tx: ServerTransaction, sdp: bytes) -> None:
    headers = [("Content-Type", SDP)]
    if tx.method == "INVITE":
        headers.insert(0, ("Contact", source.local_contact))
        source.acked.clear()
        source.on_ack = None
    tx.reply(200, headers=headers, body=sdp)
    if tx.method == "INVITE":
        source.local_body, source.local_content_type = sdp, SDP
