"""The domain events of a call: plain values, no I/O, no wire names.

Calls raise them on the platform's ``EventStream`` (stream.py). Each carries the voiceId and the
time of the SIP message (or the moment) behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sipline.domain.calls import Termination


@dataclass(frozen=True, slots=True)
class CallEvent:
    voice_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallAccepted(CallEvent):
    """sendSip accepted the call: its record exists."""


@dataclass(frozen=True, slots=True)
class PhoneRinging(CallEvent):
    """The agent's phone rings (its first 180/183)."""


@dataclass(frozen=True, slots=True)
class PhoneAnswered(CallEvent):
    """The agent's phone answered (its 2xx)."""


@dataclass(frozen=True, slots=True)
class CalleeRinging(CallEvent):
    """The callee rings (the first 180/183 from the trunk): the record's ringingTime."""


@dataclass(frozen=True, slots=True)
class CalleeAnswered(CallEvent):
    """The callee answered (its 2xx): the record's answerTime."""


@dataclass(frozen=True, slots=True)
class DtmfPressed(CallEvent):
    digit: str


@dataclass(frozen=True, slots=True)
class CallEnded(CallEvent):
    termination: Termination


@dataclass(frozen=True, slots=True)
class RecordingReady(CallEvent):
    """The call's recording is encoded: its mp3 can be fetched."""

    recording_id: str
