"""Where a call's callee leg goes: out through the app's trunk, or to a colleague's registered phone.

The B2BUA (calls/b2bua.py) asks its route for the flow, the INVITE and the credentials; it does not
care which kind of callee it rings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sipline.calls.invites import callee_invite, phone_invite
from sipline.calls.targets import CalleeTarget, PhoneTarget
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.domain import calls
from sipline.sip.digest import DigestClient
from sipline.sip.message import SipRequest
from sipline.sip.server import SipServer
from sipline.sip.transport import Flow


class CalleeRoute(Protocol):
    @property
    def label(self) -> str:
        """Who is called, for the logs."""
        ...

    @property
    def unreachable(self) -> str:
        """The termination reason when ``flow`` fails."""
        ...

    async def flow(self, server: SipServer, resolver: TrunkResolver) -> Flow:
        """The flow the INVITE goes on; ``OSError`` when the callee cannot be reached."""
        ...

    def invite(self, server: SipServer, call_id: str, flow: Flow, offer: bytes) -> SipRequest: ...

    def credentials(self) -> DigestClient | None:
        """What answers the callee side's 401/407, if anything."""
        ...


@dataclass(frozen=True)
class TrunkRoute:
    """Through a trunk: number rewritten, displayNum as caller ID, the trunk's credentials."""

    target: CalleeTarget

    @property
    def label(self) -> str:
        return f"{self.target.dialled} via trunk {self.target.trunk.name}"

    @property
    def unreachable(self) -> str:
        return f"Service Unavailable (trunk {self.target.trunk.name} unreachable)"

    async def flow(self, server: SipServer, resolver: TrunkResolver) -> Flow:
        trunk = self.target.trunk
        address = await resolver.resolve(trunk.host, trunk.port)
        return await server.flow_to(trunk.transport, address)

    def invite(self, server: SipServer, call_id: str, flow: Flow, offer: bytes) -> SipRequest:
        return callee_invite(server, call_id, self.target, flow, offer)

    def credentials(self) -> DigestClient | None:
        trunk = self.target.trunk
        if trunk.username is None:
            return None
        return DigestClient(trunk.username, trunk.password or "", trunk.realm)


@dataclass(frozen=True)
class ColleagueRoute:
    """To another phone of the app, on the flow it registered on (NAT), showing the caller's account."""

    phone: PhoneTarget
    caller: str  # the dialling phone's SIP account: From

    @property
    def label(self) -> str:
        return f"phone {self.phone.account}"

    @property
    def unreachable(self) -> str:
        return f"Service Unavailable ({calls.NOT_REACHABLE})"

    async def flow(self, server: SipServer, resolver: TrunkResolver) -> Flow:
        return self.phone.flow

    def invite(self, server: SipServer, call_id: str, flow: Flow, offer: bytes) -> SipRequest:
        return phone_invite(server, call_id, self.phone, self.caller, offer)

    def credentials(self) -> DigestClient | None:
        return None
