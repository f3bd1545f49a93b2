"""Best-effort error answers for requests the parser rejected (RFC 3261 §21.4.1 / 505)."""

from __future__ import annotations

from sipline.sip.headers import HEADER_NAMES
from sipline.sip.message import REASON_PHRASES

_ECHOED = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})


def error_reply_for(data: bytes, status: int, detail: str) -> bytes | None:
    """A 4xx/5xx for an unparsable request, echoing the raw Via/From/To/Call-ID/CSeq lines.

    Returns None when the bytes do not look like a request with a Via (nothing to answer to).
    """
    if data.startswith(b"SIP/"):
        return None  # never answer a response
    end = data.find(b"\r\n\r\n")
    head = (data if end < 0 else data[:end]).decode("utf-8", "replace")
    lines = head.split("\r\n")[1:]
    kept: list[str] = []
    for line in lines:
        name, colon, value = line.partition(":")
        canon = HEADER_NAMES.get(name.strip().lower())
        if colon and canon in _ECHOED and "\n" not in value and "\r" not in value:
            kept.append(f"{canon}: {value.strip()}")
    if not any(line.startswith("Via:") for line in kept):
        return None
    reason = REASON_PHRASES.get(status, "Bad Request")
    warning = detail.replace('"', "'")[:120]
    out = [f"SIP/2.0 {status} {reason}", *kept, f'Warning: 399 sipline "{warning}"']
    out += ["Content-Length: 0", "", ""]
    return "\r\n".join(out).encode("utf-8", "replace")
