"""Who a click-to-call rings (the agent's phone, the callee through a trunk) and its time limits."""

from __future__ import annotations

from dataclasses import dataclass

from sipline.domain import calls
from sipline.domain.trunks import Trunk
from sipline.sip.transport import Flow


@dataclass(frozen=True)
class PhoneTarget:
    account: str
    contact: str  # the registered contact URI: the Request-URI of the INVITE
    flow: Flow  # the flow the phone registered on (NAT: back to its source)


@dataclass(frozen=True)
class CalleeTarget:
    number: str  # as the API got it: shown on the phone
    caller_id: str  # displayNum
    trunk: Trunk

    @property
    def dialled(self) -> str:
        return self.trunk.dialled_number(self.number)


@dataclass(frozen=True)
class CallLimits:
    phone_ring_timeout: float = 30.0
    callee_ring_timeout: float = 60.0  # like the vendor's maxRingingTime
    max_duration: float = 3600.0
    max_duration_reason: str = calls.MAX_DURATION  # e.g. the balance ran out
