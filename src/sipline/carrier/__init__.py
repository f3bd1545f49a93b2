"""Built-in SIP peers for a complete call out of the box: the sandbox carrier and a virtual phone."""

from sipline.carrier.phone import VirtualPhone
from sipline.carrier.sandbox import SandboxCarrier, behaviour_for

__all__ = ["SandboxCarrier", "VirtualPhone", "behaviour_for"]
