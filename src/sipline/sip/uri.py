"""SIP/SIPS URIs (RFC 3261 §19.1); other schemes are kept opaque."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from sipline.sip.errors import SipParseError
from sipline.sip.grammar import WHITESPACE_RE, Params

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_HOST_RE = re.compile(r"[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\]")
# Fast path for the everyday shape sip:user@host:port;params (no password, no '?', no odd user)
_SIMPLE_SIP_RE = re.compile(
    r"([sS][iI][pP][sS]?):(?:([A-Za-z0-9\-_.!~*'()&=+$,%]+)@)?([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])"
    r"(?::([0-9]{1,5}))?((?:;[^;?@\s]+)*)"
)


@dataclass(slots=True)
class SipUri:
    """A parsed URI. For schemes other than sip/sips only ``scheme`` and ``opaque`` are set."""

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = field(default_factory=dict)
    headers: str | None = None  # raw "?..." part without the '?'
    opaque: str | None = None

    @property
    def is_sip(self) -> bool:
        return self.opaque is None

    @property
    def transport(self) -> str | None:
        value = self.params.get("transport")
        return value.lower() if value else None

    def host_port(self, default_port: int = 5060) -> tuple[str, int]:
        host = self.host[1:-1] if self.host.startswith("[") else self.host
        return host, self.port if self.port is not None else default_port

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        for key, value in self.params.items():
            out += [";", key] if value is None else [";", key, "=", value]
        if self.headers is not None:
            out += ["?", self.headers]
        return "".join(out)


@functools.lru_cache(maxsize=4096)
def parse_uri(text: str) -> SipUri:
    """Parse a URI; raises SipParseError. Escapes are kept as sent (compare with care).

    The same text gives the same (shared) object: a call's messages repeat the same URIs many
    times, so results are kept in a small cache. Treat parsed URIs as immutable.
    """
    return _parse_uri(text)


def _parse_uri(text: str) -> SipUri:
    fast = _SIMPLE_SIP_RE.fullmatch(text)
    if fast is not None:
        scheme, user, host, port, params_text = fast.groups()
        port_num = int(port) if port is not None else None
        if port_num is None or port_num <= 65535:
            params: Params = {}
            if params_text:
                for piece in params_text[1:].split(";"):
                    name, eq, value = piece.partition("=")
                    params[name.lower()] = value if eq else None
            return SipUri(
                scheme if scheme in ("sip", "sips") else scheme.lower(), host, user, None, port_num, params
            )
    scheme, colon, rest = text.partition(":")
    if not colon or _SCHEME_RE.fullmatch(scheme) is None:
        raise SipParseError(f"bad URI {text[:60]!r}")
    if not rest or WHITESPACE_RE.search(rest):
        raise SipParseError(f"bad URI {text[:60]!r}")
    scheme = scheme.lower()
    if scheme not in ("sip", "sips"):
        return SipUri(scheme=scheme, opaque=rest)
    uri = SipUri(scheme=scheme)
    # userinfo may itself contain ';' and '?' (RFC 4475 intmeth), so split on the first '@'
    at = rest.find("@")
    if at >= 0:
        user, sep, password = rest[:at].partition(":")
        uri.user = user
        if sep:
            uri.password = password
        rest = rest[at + 1 :]
    qmark = rest.find("?")
    if qmark >= 0:
        uri.headers = rest[qmark + 1 :]
        rest = rest[:qmark]
    semi = rest.find(";")
    if semi >= 0:
        for piece in rest[semi + 1 :].split(";"):
            if not piece:
                raise SipParseError(f"empty URI parameter in {text[:60]!r}")
            name, eq, value = piece.partition("=")
            uri.params[name.lower()] = value if eq else None
        rest = rest[:semi]
    if rest.startswith("["):
        close = rest.find("]")
        host, port_text = rest[: close + 1], rest[close + 1 :]
        if close < 0 or (port_text and port_text[0] != ":"):
            raise SipParseError(f"bad IPv6 host in {text[:60]!r}")
        port_text = port_text[1:]
        has_port = bool(port_text) or rest.endswith(":")
    else:
        host, has_colon, port_text = rest.partition(":")
        has_port = bool(has_colon)
    if _HOST_RE.fullmatch(host) is None:
        raise SipParseError(f"bad host in URI {text[:60]!r}")
    uri.host = host
    if has_port:
        if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5 or int(port_text) > 65535:
            raise SipParseError(f"bad port in URI {text[:60]!r}")
        uri.port = int(port_text)
    return uri
