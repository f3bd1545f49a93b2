"""Header names and the structured header values: name-addr, Via, CSeq."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from sipline.sip.errors import SipParseError
from sipline.sip.grammar import (
    TOKEN_WORDS_RE,
    WHITESPACE_RE,
    Params,
    find_closing_quote,
    format_params,
    is_token,
    parse_params,
)
from sipline.sip.uri import SipUri, parse_uri

MAGIC_COOKIE = "z9hG4bK"

# lower-case spelling (full or compact) -> canonical spelling
_CANONICAL = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Path",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Service-Route",
    "Session-Expires",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Reason",
    "RSeq",
    "RAck",
    "P-Asserted-Identity",
    "Privacy",
    "Min-SE",
    "Subscription-State",
]
_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
}
HEADER_NAMES: dict[str, str] = {name.lower(): name for name in _CANONICAL}
HEADER_NAMES.update(_COMPACT)

# Headers whose values are comma-separated lists (RFC 3261 §7.3.1); others are never split.
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "path",
        "service-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "content-language",
        "alert-info",
        "call-info",
        "error-info",
        "in-reply-to",
        "allow-events",
        "warning",
        "reason",
        "p-asserted-identity",
        "privacy",
    }
)
# Headers that must appear at most once (RFC 4475 multi01/mcl01).
SINGLE_HEADERS = (
    "from",
    "to",
    "call-id",
    "cseq",
    "max-forwards",
    "content-length",
    "content-type",
    "expires",
)


def canonical_name(name: str) -> str:
    """Canonical spelling of a header name (compact forms expanded); unknown names kept as is."""
    return HEADER_NAMES.get(name.lower(), name)


@dataclass(slots=True)
class NameAddr:
    """From/To/Contact/Route value: optional display name, URI, header parameters."""

    uri: SipUri
    display_name: str | None = None  # as sent, quotes included if quoted
    params: Params = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        prefix = f"{self.display_name} " if self.display_name else ""
        return f"{prefix}<{self.uri}>{format_params(self.params)}"


# Fast path: optional simple quoted display name or tokens, <uri>, simple parameters
_SIMPLE_NAME_ADDR_RE = re.compile(
    r'[ \t]*(?:("[^"\\]*")[ \t]*|([A-Za-z0-9\-.!%*_+`\'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`\'~]+)*)[ \t]*)?'
    r"<([^<>\s]+)>((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~]+)?)*)[ \t]*"
)


@functools.lru_cache(maxsize=4096)
def parse_name_addr(value: str) -> NameAddr:
    """Parse ``name-addr / addr-spec`` followed by header parameters.

    The same text gives the same (shared) object, from a small cache (a dialog's messages repeat
    their From, To and Contact): treat parsed values as immutable.
    """
    return _parse_name_addr(value)


def _parse_name_addr(value: str) -> NameAddr:
    fast = _SIMPLE_NAME_ADDR_RE.fullmatch(value)
    if fast is not None:
        quoted, words, uri_text, params_text = fast.groups()
        params: Params = {}
        if params_text:
            for piece in params_text[1:].split(";"):
                name, eq, param_value = piece.partition("=")
                params[name.lower()] = param_value if eq else None
        return NameAddr(parse_uri(uri_text), quoted or words, params)
    value = value.strip()
    display: str | None = None
    if value.startswith('"'):
        end = find_closing_quote(value, 0)
        display = value[: end + 1]
        rest = value[end + 1 :].lstrip()
        if not rest.startswith("<"):
            raise SipParseError("quoted display name not followed by <URI>")
        lt = 0
        value = rest
    else:
        lt = value.find("<")
    if lt >= 0:
        if lt > 0:
            words = value[:lt].strip()
            if words and TOKEN_WORDS_RE.fullmatch(words) is None:
                raise SipParseError(f"bad display name {words[:40]!r}")
            display = words or None
        gt = value.find(">", lt)
        if gt < 0:
            raise SipParseError("unterminated <URI>")
        uri_text = value[lt + 1 : gt]
        if WHITESPACE_RE.search(uri_text):
            raise SipParseError("whitespace inside <URI>")
        return NameAddr(uri=parse_uri(uri_text), display_name=display, params=parse_params(value[gt + 1 :]))
    # addr-spec: parameters after the first ';' belong to the header, and the URI may then
    # carry neither '?' headers nor ',' (RFC 3261 §20.10; RFC 4475 regbadct)
    semi = value.find(";")
    uri_text = (value if semi < 0 else value[:semi]).rstrip()
    if "?" in uri_text or "," in uri_text:
        raise SipParseError("URI with headers must be enclosed in <>")
    return NameAddr(uri=parse_uri(uri_text), params=parse_params("" if semi < 0 else value[semi:]))


_VIA_RE = re.compile(
    r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+"
    r"([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*(;.*)?",
    re.S,
)


@dataclass(slots=True)
class Via:
    transport: str  # upper-case: UDP, TCP, TLS, ...
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"


def parse_via(value: str) -> Via:
    match = _VIA_RE.fullmatch(value.strip())
    if match is None:
        raise SipParseError(f"bad Via {value[:60]!r}")
    transport, host, port, params = match.groups()
    port_num = int(port) if port is not None else None
    if port_num is not None and port_num > 65535:
        raise SipParseError("bad Via port")
    return Via(transport.upper(), host, port_num, parse_params(params or ""))


class CSeq(NamedTuple):  # a tuple: immutable and cheaper to build than a frozen dataclass
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@functools.lru_cache(maxsize=256)
def parse_cseq(value: str) -> CSeq:
    """Parse a CSeq value (cached: the same few values, "1 REGISTER", "2 INVITE", recur)."""
    return _parse_cseq(value)


def _parse_cseq(value: str) -> CSeq:
    number, _, method = value.strip().partition(" ")
    method = method.strip()
    if not (number.isascii() and number.isdigit()) or len(number) > 10 or not is_token(method):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    num = int(number)
    if num >= 2**31:
        raise SipParseError("CSeq number too large")
    return CSeq(num, method)


def parse_uint(value: str, name: str, maximum: int = 2**32 - 1) -> int:
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        if number <= maximum:
            return number
    raise SipParseError(f"bad {name} {value[:40]!r}")
