"""A dialog kept as plain values, so that a node restarted after a crash can still end it with BYE.

``StoredDialog.of(dialog)`` takes what an in-dialog BYE needs (RFC 3261 §12.2.1.1: Call-ID, both
tagged URIs, remote target, route set, local CSeq, and the flow it went on); ``send_bye`` rebuilds
a ``Dialog`` from it and sends BYE through the transaction layer (retransmitted over UDP, 408
after timer F). The old process's TCP/TLS connection is gone: the BYE goes over a new connection
to the flow's address, else to the remote target's, else to ``alternate_target`` (for a phone,
the contact it registered: over TCP its 2xx's Contact may name the dead connection's port).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sipline.sip.dialog import Dialog, DialogState, Sender, layer_of
from sipline.sip.errors import SipParseError
from sipline.sip.headers import parse_name_addr
from sipline.sip.message import SipResponse
from sipline.sip.transport import Flow
from sipline.sip.uri import parse_uri

log = logging.getLogger(__name__)

# In-dialog requests relayed after the last write (re-INVITE, INFO) took CSeq numbers the store may
# not have seen; the BYE jumps ahead so that the peer never sees it out of order (§12.2.2).
CSEQ_MARGIN = 100
CONNECT_TIMEOUT = 5.0  # seconds to open a new TCP/TLS connection for the BYE
_DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


@dataclass(frozen=True)
class StoredDialog:
    call_id: str
    local: str  # From of our requests, with our tag
    remote: str  # To of our requests, with the peer's tag
    remote_target: str  # the peer's Contact: the Request-URI
    route_set: tuple[str, ...]
    local_contact: str
    local_cseq: int  # the last CSeq number we used
    transport: str  # "udp", "tcp" or "tls"
    remote_addr: tuple[str, int]
    local_addr: tuple[str, int]
    alternate_target: str | None = None  # another URI the peer listens on

    @classmethod
    def of(cls, dialog: Dialog, alternate_target: str | None = None) -> StoredDialog:
        flow = dialog.flow
        return cls(
            call_id=dialog.call_id,
            local=str(dialog.local),
            remote=str(dialog.remote),
            remote_target=dialog.remote_target,
            route_set=tuple(dialog.route_set),
            local_contact=dialog.local_contact,
            local_cseq=dialog.local_cseq,
            transport=flow.transport,
            remote_addr=flow.remote_addr,
            local_addr=flow.local_addr,
            alternate_target=alternate_target,
        )

    def rebuilt(self, flow: Flow, sender: Sender) -> Dialog:
        """A confirmed ``Dialog`` good for one BYE (raises SipParseError for a broken stored URI)."""
        return Dialog(
            call_id=self.call_id,
            local=parse_name_addr(self.local),
            remote=parse_name_addr(self.remote),
            local_cseq=self.local_cseq + CSEQ_MARGIN,
            remote_cseq=None,
            remote_target=self.remote_target,
            route_set=list(self.route_set),
            local_contact=self.local_contact,
            flow=flow,
            state=DialogState.CONFIRMED,
            sender=sender,
        )

    def addresses(self) -> list[tuple[str, int]]:
        """Where to try to reach the peer: the flow's address, then where its URIs point."""
        found = [self.remote_addr]
        for target in (self.remote_target, self.alternate_target):
            address = _address_of(target, self.transport) if target else None
            if address is not None and address not in found:
                found.append(address)
        return found


def _address_of(target: str, transport: str) -> tuple[str, int] | None:
    try:
        uri = parse_uri(target)
    except SipParseError:
        return None
    if not uri.host:
        return None
    return uri.host.strip("[]"), uri.port or _DEFAULT_PORTS.get(transport, 5060)


async def send_bye(sender: Sender, stored: StoredDialog) -> SipResponse:
    """BYE on a stored dialog; its final response (408/503 synthesized). Raises OSError when no
    connection can be opened, SipParseError for a stored dialog that cannot be rebuilt."""
    flow = await _flow_for(sender, stored)
    dialog = stored.rebuilt(flow, sender)
    return await dialog.bye()


async def _flow_for(sender: Sender, stored: StoredDialog) -> Flow:
    transport = layer_of(sender).transport
    if stored.transport == "udp":
        return Flow("udp", transport.local_addr, stored.remote_addr)
    error: OSError = OSError(f"no address to reach {stored.remote_target}")
    for address in stored.addresses():
        try:
            return await asyncio.wait_for(transport.flow_to(stored.transport, address), CONNECT_TIMEOUT)
        except OSError as exc:  # TimeoutError too; a phone's ephemeral source port listens no more
            log.debug("BYE for %s: cannot connect to %s: %s", stored.call_id, address, exc)
            error = exc
    raise error
