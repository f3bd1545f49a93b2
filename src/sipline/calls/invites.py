"""The INVITEs the platform sends: to a registered phone (the agent's, without an offer; a colleague's,
with one) and to the callee's trunk; and the OPTIONS pings of the trunks (calls/trunk_health.py)."""

from __future__ import annotations

from sipline.calls.targets import CalleeTarget, PhoneTarget
from sipline.domain.trunks import CallerIdMode, Trunk
from sipline.sip.message import SipRequest
from sipline.sip.sdp import SDP
from sipline.sip.server import SipServer
from sipline.sip.transaction import new_tag
from sipline.sip.transport import Flow

ALLOW = "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS, UPDATE"


def phone_invite(
    server: SipServer, call_id: str, phone: PhoneTarget, shown: str, offer: bytes = b""
) -> SipRequest:
    """To the phone's registered contact, showing ``shown`` (the callee's number for sendSip, the
    calling colleague's account phone to phone); without ``offer`` the phone offers in its 2xx."""
    domain = server.config.domain
    fields = [
        ("Max-Forwards", "70"),
        ("From", f'"{shown}" <sip:{shown}@{domain}>;tag={new_tag()}'),
        ("To", f"<sip:{phone.account}@{domain}>"),
        ("Call-ID", f"{call_id}-a"),
        ("CSeq", "1 INVITE"),
        *_common_headers(server, phone.flow),
    ]
    if offer:
        fields.append(("Content-Type", SDP))
    return SipRequest("INVITE", phone.contact, fields, offer)


def callee_invite(
    server: SipServer, call_id: str, callee: CalleeTarget, flow: Flow, offer: bytes
) -> SipRequest:
    """To the callee through its trunk (number rewritten), displayNum as caller ID, with ``offer``."""
    trunk = callee.trunk
    dialled, caller = callee.dialled, callee.caller_id
    caller_uri = f"sip:{caller}@{trunk.uri_host}"
    fields = [
        ("Max-Forwards", "70"),
        ("From", f'"{caller}" <{caller_uri}>;tag={new_tag()}'),
        ("To", f"<sip:{dialled}@{trunk.uri_host}>"),
        ("Call-ID", f"{call_id}-b"),
        ("CSeq", "1 INVITE"),
        *_common_headers(server, flow),
        ("Content-Type", SDP),
    ]
    if trunk.caller_id is CallerIdMode.PAI:
        fields.append(("P-Asserted-Identity", f"<{caller_uri}>"))
    elif trunk.caller_id is CallerIdMode.RPID:
        fields.append(("Remote-Party-ID", f'"{caller}" <{caller_uri}>;party=calling;screen=yes;privacy=off'))
    return SipRequest("INVITE", f"sip:{dialled}@{_trunk_target(trunk)}", fields, offer)


def trunk_options(server: SipServer, trunk: Trunk, flow: Flow, call_id: str) -> SipRequest:
    """An out-of-dialog OPTIONS to the trunk itself (RFC 3261 §11): is it there to take calls?"""
    fields = [
        ("Max-Forwards", "70"),
        ("From", f"<sip:ping@{server.config.domain}>;tag={new_tag()}"),
        ("To", f"<sip:{trunk.uri_host}>"),
        ("Call-ID", call_id),
        ("CSeq", "1 OPTIONS"),
        *_common_headers(server, flow),
        ("Accept", SDP),
    ]
    return SipRequest("OPTIONS", f"sip:{_trunk_target(trunk)}", fields)


def _trunk_target(trunk: Trunk) -> str:
    """The host part of a Request-URI to the trunk: its domain, else host:port; and the transport."""
    host = trunk.uri_host if trunk.domain else f"{trunk.host}:{trunk.port}"
    return host + ("" if trunk.transport == "udp" else f";transport={trunk.transport}")


def _common_headers(server: SipServer, flow: Flow) -> list[tuple[str, str]]:
    host, port = server.contact_address(flow)
    transport = "" if flow.transport == "udp" else f";transport={flow.transport}"
    return [
        ("Contact", f"<sip:{host}:{port}{transport}>"),
        ("Allow", ALLOW),
        ("User-Agent", server.config.user_agent),
    ]
