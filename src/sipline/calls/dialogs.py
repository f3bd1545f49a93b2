"""The dialogs of calls in progress, kept in ``call_dialogs`` so that a node restarted after a crash
can hang both legs up: rows to and from ``StoredDialog``, and the BYEs sent at the restart.

The BYEs go out in the background, a bounded number at a time, each ending with its transaction
(answered, or 408 after timer F): a peer that is gone never holds up the start.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sipline.sip.dialog import Sender
from sipline.sip.stored_dialog import StoredDialog, send_bye
from sipline.store.models import CallDialog, CallRecord

log = logging.getLogger("sipline.calls")

BYES_AT_ONCE = 100  # BYEs in flight at a time after a restart
BYE_TIMEOUT = 45.0  # seconds: a connection attempt, then timer F (32 s), with room to spare


def row_of(voice_id: str, leg: str, dialog: StoredDialog) -> dict[str, Any]:
    """The ``call_dialogs`` row of a leg's dialog."""
    return {
        "voice_id": voice_id,
        "leg": leg,
        "call_id": dialog.call_id,
        "local_uri": dialog.local,
        "remote_uri": dialog.remote,
        "remote_target": dialog.remote_target,
        "route_set": json.dumps(list(dialog.route_set)),
        "local_contact": dialog.local_contact,
        "local_cseq": dialog.local_cseq,
        "transport": dialog.transport,
        "remote_host": dialog.remote_addr[0],
        "remote_port": dialog.remote_addr[1],
        "local_host": dialog.local_addr[0],
        "local_port": dialog.local_addr[1],
        "alternate_target": dialog.alternate_target,
    }


def dialog_of(row: CallDialog) -> StoredDialog:
    return StoredDialog(
        call_id=row.call_id,
        local=row.local_uri,
        remote=row.remote_uri,
        remote_target=row.remote_target,
        route_set=tuple(str(route) for route in json.loads(row.route_set or "[]")),
        local_contact=row.local_contact,
        local_cseq=row.local_cseq,
        transport=row.transport,
        remote_addr=(row.remote_host, row.remote_port),
        local_addr=(row.local_host, row.local_port),
        alternate_target=row.alternate_target,
    )


async def open_dialogs(session: AsyncSession, node: str) -> dict[str, list[StoredDialog]]:
    """The stored dialogs of this node's open calls, by voiceId (phone leg first)."""
    rows = await session.scalars(
        select(CallDialog)
        .join(CallRecord, CallRecord.voice_id == CallDialog.voice_id)
        .where(CallRecord.node == node, CallRecord.hangup_time.is_(None))
        .order_by(CallDialog.voice_id, CallDialog.leg.desc())
    )
    dialogs: dict[str, list[StoredDialog]] = defaultdict(list)
    for row in rows:
        try:
            dialogs[row.voice_id].append(dialog_of(row))
        except (ValueError, TypeError):  # a hand-edited row: the record is still closed
            log.warning("call %s: the stored %s dialog is unreadable; no BYE", row.voice_id, row.leg)
    return dict(dialogs)


async def hang_up(sender: Sender, dialogs: Mapping[str, Sequence[StoredDialog]]) -> int:
    """BYE every stored dialog, at most ``BYES_AT_ONCE`` at a time; how many were answered 2xx."""
    slots = asyncio.Semaphore(BYES_AT_ONCE)

    async def one(voice_id: str, dialog: StoredDialog) -> bool:
        async with slots:
            return await _bye(sender, voice_id, dialog)

    outcomes = await asyncio.gather(
        *(one(voice_id, dialog) for voice_id, legs in dialogs.items() for dialog in legs)
    )
    answered = sum(outcomes)
    log.info("BYE sent on %d dialog(s) of interrupted calls, %d answered", len(outcomes), answered)
    return answered


async def _bye(sender: Sender, voice_id: str, dialog: StoredDialog) -> bool:
    try:
        response = await asyncio.wait_for(send_bye(sender, dialog), BYE_TIMEOUT)
    except (OSError, ValueError, RuntimeError) as exc:  # TimeoutError is an OSError; a broken stored URI
        log.warning("call %s: BYE to %s not sent: %s", voice_id, dialog.remote_target, exc)
        return False
    level = logging.INFO if 200 <= response.status < 300 else logging.WARNING
    log.log(level, "call %s: BYE to %s answered %d", voice_id, dialog.remote_target, response.status)
    return 200 <= response.status < 300
