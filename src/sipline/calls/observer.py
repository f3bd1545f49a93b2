"""What a click-to-call reports as it goes: the ``CallObserver`` protocol and the legs' names."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sipline.domain.calls import Termination
from sipline.sip.stored_dialog import StoredDialog

PHONE_LEG, CALLEE_LEG = "phone", "callee"


class CallObserver(Protocol):
    """Told what happens, with the time of the SIP message behind it."""

    def phone_ringing(self, at: datetime) -> None: ...

    def phone_answered(self, at: datetime) -> None: ...

    def callee_invited(self, at: datetime) -> None: ...

    def callee_ringing(self, at: datetime) -> None: ...

    def callee_answered(self, at: datetime) -> None: ...

    def dtmf(self, digit: str) -> None: ...

    def leg_dialog(self, leg: str, dialog: StoredDialog, at: datetime) -> None:
        """A leg's dialog (``PHONE_LEG``, ``CALLEE_LEG``), established or changed at ``at``."""

    def activity(self, at: datetime) -> None:
        """The call was known to be up at ``at`` (signalling or media)."""

    def ended(self, at: datetime, termination: Termination) -> None: ...
