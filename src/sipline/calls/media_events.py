"""What the media plane reports about one call, turned into the call's own events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sipline.calls.observer import CallObserver
from sipline.domain import calls
from sipline.media.port import Leg

log = logging.getLogger("sipline.calls")


class CallMediaEvents:
    """The ``MediaEvents`` of a click-to-call: the callee's key presses go to the observer (beside
    those in SIP INFO), a media timeout hangs the call up, RTP seen is the call's activity.

    ``detach()`` at the end of the call: the media session refers to this object, and this object to
    the call (a cycle the call would otherwise leave behind).
    """

    def __init__(self, call_id: str, observer: CallObserver, hang_up: Callable[[str], None]) -> None:
        self._call_id = call_id
        self._observer: CallObserver | None = observer
        self._hang_up: Callable[[str], None] | None = hang_up

    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None:
        if leg is Leg.CALLEE and self._observer is not None:
            self._observer.dtmf(digit)

    def media_timeout(self, idle_seconds: float) -> None:
        if self._hang_up is not None:
            log.info("call %s: no media for %.0f s", self._call_id, idle_seconds)
            self._hang_up(calls.media_timeout(idle_seconds))

    def media_activity(self, at: datetime) -> None:
        if self._observer is not None:
            self._observer.activity(at)

    def recording_failed(self, reason: str) -> None:
        log.warning("call %s: recording stopped, the call goes on: %s", self._call_id, reason)

    def detach(self) -> None:
        self._observer = None
        self._hang_up = None
