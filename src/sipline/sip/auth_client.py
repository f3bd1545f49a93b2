"""Re-sending a request with credentials after a 401/407 (e.g. towards a carrier trunk)."""

from __future__ import annotations

from sipline.sip.digest import DigestClient
from sipline.sip.message import SipRequest, SipResponse

_DROPPED = frozenset({"Via", "CSeq", "Authorization", "Proxy-Authorization", "Content-Length"})


def with_credentials(request: SipRequest, challenge: SipResponse, client: DigestClient) -> SipRequest:
    """A copy of ``request`` answering ``challenge``: CSeq + 1, credentials added, no Via.

    The transaction layer adds a fresh top Via (new branch) when the copy is sent. Raises
    SipParseError when the response carries no digest challenge we can answer.
    """
    if challenge.status == 407:
        offered, header = challenge.headers("Proxy-Authenticate"), "Proxy-Authorization"
    else:
        offered, header = challenge.headers("WWW-Authenticate"), "Authorization"
    value = client.authorization(offered, request.method, request.uri)
    fields = [(n, v) for n, v in request.fields if n not in _DROPPED]
    fields.append(("CSeq", f"{request.cseq.number + 1} {request.method}"))
    fields.append((header, value))
    return SipRequest(request.method, request.uri, fields, request.body)
