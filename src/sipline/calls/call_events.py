"""A click-to-call's observer calls turned into domain events on the platform's stream.

``PublishedCall`` is the ``CallObserver`` the B2BUA is given: every call goes to the call's journal
first (its record), then, as a domain event, to the ``EventStream`` and whoever subscribed (the
status report push, the recordings' readiness...). The journal stays the only writer of the record;
subscribers see the same moments the record does. What is not a domain event (a leg's dialog, the
activity heartbeat, called per RTP packet) goes to the journal only, so the media hot path pays
nothing for the stream.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sipline.calls.observer import CallObserver
from sipline.domain.calls import Termination
from sipline.events.domain import (
    CalleeAnswered,
    CalleeRinging,
    CallEnded,
    DtmfPressed,
    PhoneAnswered,
    PhoneRinging,
)
from sipline.events.stream import EventStream
from sipline.sip.stored_dialog import StoredDialog


class PublishedCall:
    """The ``CallObserver`` of one call: its journal, then the event stream."""

    __slots__ = ("_journal", "_stream", "_voice_id")

    def __init__(self, journal: CallObserver, stream: EventStream, voice_id: str) -> None:
        self._journal = journal
        self._stream = stream
        self._voice_id = voice_id

    def phone_ringing(self, at: datetime) -> None:
        self._journal.phone_ringing(at)
        self._stream.publish(PhoneRinging(self._voice_id, at))

    def phone_answered(self, at: datetime) -> None:
        self._journal.phone_answered(at)
        self._stream.publish(PhoneAnswered(self._voice_id, at))

    def callee_invited(self, at: datetime) -> None:
        self._journal.callee_invited(at)

    def callee_ringing(self, at: datetime) -> None:
        self._journal.callee_ringing(at)
        self._stream.publish(CalleeRinging(self._voice_id, at))

    def callee_answered(self, at: datetime) -> None:
        self._journal.callee_answered(at)
        self._stream.publish(CalleeAnswered(self._voice_id, at))

    def dtmf(self, digit: str) -> None:
        self._journal.dtmf(digit)
        self._stream.publish(DtmfPressed(self._voice_id, datetime.now(UTC), digit))

    def leg_dialog(self, leg: str, dialog: StoredDialog, at: datetime) -> None:
        self._journal.leg_dialog(leg, dialog, at)

    def activity(self, at: datetime) -> None:
        self._journal.activity(at)

    def ended(self, at: datetime, termination: Termination) -> None:
        self._journal.ended(at, termination)
        self._stream.publish(CallEnded(self._voice_id, at, termination))
