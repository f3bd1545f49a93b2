"""The sandbox carrier: a real SIP endpoint that behaves by the callee number (docs/operations.md).

It is the embedded default trunk, so that a fresh platform completes a call without a real carrier.
The last four digits of the dialled number choose what happens:

| ends in | behaviour |
|---|---|
| 0486 | rings, then 486 Busy Here |
| 0480 | rings, then 480 Temporarily Unavailable |
| 0404 | 404 Not Found at once |
| 0503 | 503 Service Unavailable at once |
| 0000 | rings until the call is cancelled (no answer) |
| 0020 | long ringing: rings 20 s, then answers and talks 10 s |
| 9NNN | answers and talks NNN seconds, then hangs up (9000: until the caller hangs up) |
| 8DDD | answers, presses the digits DDD (SIP INFO dtmf-relay), talks 10 s |
| other | answers and talks 10 s |

"Rings" means 180 Ringing for ``ring_seconds`` (1 s unless configured) before the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sipline.carrier.user_agent import UserAgent
from sipline.sip.dialog import Dialog, DialogState
from sipline.sip.transaction import ServerTransaction

log = logging.getLogger(__name__)

DEFAULT_TALK_SECONDS = 10.0
LONG_RING_SECONDS = 20.0
MAX_RING_SECONDS = 180.0  # "until cancelled" still ends, should a caller never cancel


@dataclass(frozen=True)
class Behaviour:
    """What the carrier does with a call. ``final`` None means it answers."""

    ring: bool = True
    final: int | None = None
    ring_seconds: float | None = None  # None: the carrier's ring_seconds; inf: until cancelled
    talk_seconds: float | None = DEFAULT_TALK_SECONDS  # None: until the caller hangs up
    dtmf: str = ""


_BY_SUFFIX = {
    "0486": Behaviour(final=486),
    "0480": Behaviour(final=480),
    "0404": Behaviour(ring=False, final=404),
    "0503": Behaviour(ring=False, final=503),
    "0000": Behaviour(ring_seconds=float("inf")),
    "0020": Behaviour(ring_seconds=LONG_RING_SECONDS),
}


def behaviour_for(number: str) -> Behaviour:
    suffix = number[-4:]
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if len(suffix) == 4 and suffix.isdigit() and suffix[0] == "9":
        seconds = int(suffix[1:])
        return Behaviour(talk_seconds=float(seconds) if seconds else None)
    if len(suffix) == 4 and suffix.isdigit() and suffix[0] == "8":
        return Behaviour(dtmf=suffix[1:])
    return Behaviour()


class SandboxCarrier:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ring_seconds: float = 1.0) -> None:
        self.agent = UserAgent(host, port, domain="sandbox.invalid", user_agent="sipline sandbox carrier")
        self.ring_seconds = ring_seconds
        self.calls = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def host(self) -> str:
        return self.agent.host

    @property
    def port(self) -> int:
        return self.agent.port

    async def start(self) -> None:
        await self.agent.start()
        self.agent.sip.on_invite = self._on_invite
        log.info("sandbox carrier listening on %s:%d (udp, tcp)", self.host, self.port)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.agent.stop()

    def _on_invite(self, tx: ServerTransaction) -> None:
        self.calls += 1
        number = tx.request.request_uri.user or ""
        self._spawn(self._handle(tx, behaviour_for(number)))

    async def _handle(self, tx: ServerTransaction, behaviour: Behaviour) -> None:
        dialogs = self.agent.sip.dialogs
        if behaviour.ring:
            dialogs.answer(tx, 180)
            delay = self.ring_seconds if behaviour.ring_seconds is None else behaviour.ring_seconds
            if not await _wait_unless_cancelled(tx, delay):
                return  # CANCEL: the dialog layer answered 487
        if behaviour.final is not None:
            dialogs.answer(tx, behaviour.final)
            return
        dialog = self.agent.answer(tx)
        if dialog is None:
            return
        await self._talk(dialog, behaviour)

    async def _talk(self, dialog: Dialog, behaviour: Behaviour) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dialog.acked.wait(), 32)
        if behaviour.dtmf:
            await asyncio.sleep(1)
            for digit in behaviour.dtmf:
                if dialog.state is DialogState.TERMINATED:
                    return
                body = f"Signal={digit}\r\nDuration=160\r\n".encode()
                await dialog.request("INFO", body=body, content_type="application/dtmf-relay")
                await asyncio.sleep(0.2)
        if behaviour.talk_seconds is None:
            await dialog.terminated.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dialog.terminated.wait(), behaviour.talk_seconds)
        if dialog.state is not DialogState.TERMINATED:
            await dialog.bye()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _wait_unless_cancelled(tx: ServerTransaction, seconds: float) -> bool:
    """Ring for ``seconds`` (at most 3 minutes); False as soon as the INVITE is cancelled."""
    cancelled = asyncio.Event()
    tx.add_cancel_callback(cancelled.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cancelled.wait(), min(seconds, MAX_RING_SECONDS))
    return not cancelled.is_set()
