"""Carrying an in-dialog request (re-INVITE for hold, INFO, UPDATE) from one leg to the other."""

from __future__ import annotations

from sipline.sip.dialog import Dialog
from sipline.sip.transaction import ServerTransaction


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
    headers: list[tuple[str, str]] = []
    if tx.method == "INVITE" and 200 <= response.status < 300:
        headers.append(("Contact", source.local_contact))
        source.acked.clear()
    body_type = response.header("Content-Type")
    if response.body and body_type:
        headers.append(("Content-Type", body_type))
    status = response.status if response.status >= 200 else 500
    tx.reply(status, response.reason, headers=headers, body=response.body if body_type else b"")
