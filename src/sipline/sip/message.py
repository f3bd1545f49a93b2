"""RFC 3261 messages: a lazy parser and a serializer.

Parsing splits the start line and header lines once and keeps raw values; structured
values (Via, From, To, CSeq, Contact, Request-URI) are parsed on first access and cached.
``validate()`` parses everything a transaction/registrar needs, so a message that passed it
cannot raise later. Every malformation raises SipParseError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from sipline.sip.errors import SipParseError
from sipline.sip.grammar import is_token, split_outside_quotes
from sipline.sip.headers import (
    HEADER_NAMES,
    LIST_HEADERS,
    SINGLE_HEADERS,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_uint,
    parse_via,
)
from sipline.sip.uri import SipUri, parse_uri

T = TypeVar("T")

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024
DEFAULT_MAX_HEADERS = 128
SIP_VERSION = "SIP/2.0"

_FOLD_RE = re.compile(r"\r?\n[ \t]+")
_TOKEN_NAME_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    513: "Message Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    603: "Decline",
}


class SipMessage:
    """Common part of requests and responses: ordered header fields plus body."""

    __slots__ = ("_cache", "_fields", "_index", "body")

    def __init__(self, fields: list[tuple[str, str]] | None = None, body: bytes = b"") -> None:
        self._fields: list[tuple[str, str]] = fields if fields is not None else []
        self._index: dict[str, list[str]] | None = None
        self._cache: dict[str, object] = {}
        self.body = body

    # -- raw header access -------------------------------------------------------------
    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._fields:
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return index

    def header(self, name: str) -> str | None:
        """First raw value of a header (any spelling, compact forms included)."""
        values = self._lookup().get(_key(name))
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        """All values of a header; list headers (Via, Contact, ...) are split at top-level commas."""
        key = _key(name)
        values = self._lookup().get(key, [])
        if key not in LIST_HEADERS:
            return list(values)
        out: list[str] = []
        for value in values:
            if "," in value:
                out.extend(part.strip() for part in split_outside_quotes(value, ","))
            else:
                out.append(value)
        return out

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The header fields in order (canonical names, raw values)."""
        return list(self._fields)

    def _changed(self) -> None:
        self._index = None
        self._cache.clear()

    def add_header(self, name: str, value: str, *, first: bool = False) -> None:
        field = (canonical_name(name), value)
        if first:
            self._fields.insert(0, field)
        else:
            self._fields.append(field)
        self._changed()

    def remove_header(self, name: str) -> None:
        key = canonical_name(name).lower()
        self._fields = [f for f in self._fields if f[0].lower() != key]
        self._changed()

    def set_header(self, name: str, value: str) -> None:
        """Replace all fields of ``name`` with one, keeping the position of the first."""
        canon = canonical_name(name)
        key = canon.lower()
        out: list[tuple[str, str]] = []
        placed = False
        for field in self._fields:
            if field[0].lower() == key:
                if not placed:
                    out.append((canon, value))
                    placed = True
            else:
                out.append(field)
        if not placed:
            out.append((canon, value))
        self._fields = out
        self._changed()

    # -- structured values (cached) ----------------------------------------------------
    def derived(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per message, e.g. a TU's parse of a header it reads at two stages
        (forgotten when the headers change)."""
        cache = self._cache
        if key in cache:
            return cache[key]  # type: ignore[return-value]
        value = cache[key] = compute()
        return value

    def _single(self, key: str) -> str:
        values = self._lookup().get(key)
        if not values:
            raise SipParseError(f"missing {canonical_name(key)} header")
        if len(values) > 1:
            raise SipParseError(f"more than one {canonical_name(key)} header")
        return values[0]

    @property
    def vias(self) -> list[Via]:
        cached = self._cache.get("via")
        if cached is None:
            raw = self._lookup().get("via", ())
            if len(raw) == 1 and "," not in raw[0]:
                cached = [parse_via(raw[0])]  # the common case: one Via, one value
            else:
                cached = [parse_via(v) for v in self.headers("via")]
            if not cached:
                raise SipParseError("missing Via header")
            self._cache["via"] = cached
        return cached  # type: ignore[return-value]

    @property
    def top_via(self) -> Via:
        return self.vias[0]

    def set_top_via(self, via: Via) -> None:
        """Replace the first Via value (e.g. to add received/rport), keeping the rest."""
        for i, (name, value) in enumerate(self._fields):
            if name == "Via":
                rest = split_outside_quotes(value, ",")[1:]
                self._fields[i] = ("Via", ", ".join([str(via), *(r.strip() for r in rest)]))
                break
        vias = self._cache.get("via")
        self._index = None
        if isinstance(vias, list):
            vias[0] = via  # the other parsed headers are unchanged: keep them cached

    def _name_addr(self, key: str) -> NameAddr:
        cached = self._cache.get(key)
        if cached is None:
            cached = parse_name_addr(self._single(key))
            self._cache[key] = cached
        return cached  # type: ignore[return-value]

    @property
    def from_(self) -> NameAddr:
        return self._name_addr("from")

    @property
    def to(self) -> NameAddr:
        return self._name_addr("to")

    @property
    def call_id(self) -> str:
        value = self._single("call-id").strip()
        if not value:
            raise SipParseError("empty Call-ID")
        return value

    @property
    def cseq(self) -> CSeq:
        cached = self._cache.get("cseq")
        if cached is None:
            cached = parse_cseq(self._single("cseq"))
            self._cache["cseq"] = cached
        return cached  # type: ignore[return-value]

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; ``Contact: *`` is reported by ``is_wildcard_contact`` instead."""
        cached = self._cache.get("contact")
        if cached is None:
            cached = [] if self.is_wildcard_contact else [parse_name_addr(v) for v in self._contact_values()]
            self._cache["contact"] = cached
        return cached  # type: ignore[return-value]

    @property
    def is_wildcard_contact(self) -> bool:
        values = self._contact_values()
        if any(v.strip() == "*" for v in values):
            if len(values) != 1:
                raise SipParseError("Contact: * must be the only contact")
            return True
        return False

    def _contact_values(self) -> list[str]:
        raw = self._lookup().get("contact")
        if raw is not None and len(raw) == 1 and "," not in raw[0]:
            return raw  # the common case, one contact: no split needed (callers only read it)
        return self.headers("contact")

    @property
    def expires(self) -> int | None:
        value = self.header("expires")
        return None if value is None else parse_uint(value, "Expires")

    @property
    def max_forwards(self) -> int | None:
        value = self.header("max-forwards")
        return None if value is None else parse_uint(value, "Max-Forwards", 255)

    def validate(self) -> None:
        """Parse the headers every transaction relies on; raises SipParseError.

        Contact and other headers stay lazy: their users (registrar, dialogs) parse them on
        access and answer 400 on SipParseError.
        """
        index = self._lookup()
        if len(index) != len(self._fields):  # some header repeats: check the single-valued ones
            for key in SINGLE_HEADERS:
                values = index.get(key)
                if values is not None and len(values) > 1:
                    raise SipParseError(f"more than one {canonical_name(key)} header")
        self.vias  # noqa: B018 - parse for the side effect of validating
        self.from_  # noqa: B018
        self.to  # noqa: B018
        self.call_id  # noqa: B018
        self.cseq  # noqa: B018
        if "max-forwards" in index:
            self.max_forwards  # noqa: B018
        if "expires" in index:
            self.expires  # noqa: B018

    # -- serialization -----------------------------------------------------------------
    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialize with CRLF line ends; Content-Length always matches the body."""
        parts = [self._start_line()]
        for name, value in self._fields:
            if name != "Content-Length":
                parts.append(f"{name}: {value}")
        parts.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return "\r\n".join(parts).encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()


class SipRequest(SipMessage):
    __slots__ = ("method", "uri", "version")

    def __init__(
        self,
        method: str,
        uri: str,
        fields: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(fields, body)
        self.method = method
        self.uri = uri  # raw Request-URI text
        self.version = version

    @property
    def request_uri(self) -> SipUri:
        cached = self._cache.get("ruri")
        if cached is None:
            cached = parse_uri(self.uri)
            self._cache["ruri"] = cached
        return cached  # type: ignore[return-value]

    def validate(self) -> None:
        super().validate()
        ruri = self.request_uri
        if ruri.is_sip and ruri.headers is not None:
            raise SipParseError("headers are not allowed in a SIP Request-URI")
        if self.cseq.method != self.method:
            raise SipParseError("CSeq method does not match the request method")

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri}>"


class SipResponse(SipMessage):
    __slots__ = ("reason", "status", "version")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        fields: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(fields, body)
        self.status = status
        self.reason = reason if reason is not None else REASON_PHRASES.get(status, "")
        self.version = version

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason}>"


def parse_message(
    data: bytes,
    *,
    stream: bool = False,
    max_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    max_headers: int = DEFAULT_MAX_HEADERS,
) -> SipRequest | SipResponse:
    """Parse one message from a datagram (``stream=False``) or a framed stream message.

    On a datagram a missing Content-Length means "the rest of the datagram" and octets
    past Content-Length are ignored; on a stream Content-Length is mandatory.
    """
    if len(data) > max_size:
        raise SipParseError(f"message larger than {max_size} bytes", 513)
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")  # CRLFs before the start line are ignored (RFC 3261 §7.5)
    end = data.find(b"\r\n\r\n")
    if end < 0:
        # tolerate bare-LF senders, and a header block without the empty line on a datagram
        end = data.find(b"\n\n")
        if end >= 0:
            body_start = end + 2
        elif not stream and data.endswith(b"\r\n"):
            end = len(data) - 2
            body_start = len(data)
        else:
            raise SipParseError("no end of headers")
    else:
        body_start = end + 4
    head = data[:end].decode("utf-8", "surrogateescape")
    if "\n " in head or "\n\t" in head:
        head = _FOLD_RE.sub(" ", head)  # unfold LWS continuation lines
    lines = head.split("\r\n") if "\r\n" in head else head.split("\n")
    if len(lines) > max_headers + 1:
        raise SipParseError("too many header fields")

    fields: list[tuple[str, str]] = []
    index: dict[str, list[str]] = {}
    entries = _NAME_ENTRIES
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"header line without ':' {line[:40]!r}")
        entry = entries.get(name)
        if entry is None:
            lname = name.lower().rstrip(" \t")
            canon = HEADER_NAMES.get(lname)
            if canon is None:
                name = name.rstrip(" \t")
                if _TOKEN_NAME_RE.fullmatch(name) is None:
                    raise SipParseError(f"bad header name {name[:40]!r}")
                canon = name
            key = canon.lower()
        else:
            canon, key = entry
        value = value.strip(" \t")
        fields.append((canon, value))
        bucket = index.get(key)
        if bucket is None:
            index[key] = [value]
        else:
            bucket.append(value)

    length_values = index.get("content-length")
    if length_values is None:
        if stream:
            raise SipParseError("missing Content-Length on a stream transport")
        body = data[body_start:]
    else:
        if len(length_values) > 1:
            raise SipParseError("more than one Content-Length header")
        text = length_values[0]
        if not (text.isascii() and text.isdigit()) or len(text) > 9:
            raise SipParseError(f"bad Content-Length {text[:20]!r}")
        length = int(text)
        if body_start + length > len(data):
            raise SipParseError("Content-Length larger than the message")
        body = data[body_start : body_start + length]

    start = lines[0]
    message: SipRequest | SipResponse
    if start.startswith("SIP/"):
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if version != SIP_VERSION:
            raise SipParseError(f"unsupported version {version[:20]!r}", 505)
        if len(code) != 3 or not code.isascii() or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code {code[:20]!r}")
        message = SipResponse(int(code), reason, fields, body)
    else:
        parts = start.split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise SipParseError(f"bad request line {start[:80]!r}")
        method, uri, version = parts
        if not is_token(method):
            raise SipParseError(f"bad method {method[:40]!r}")
        if version != SIP_VERSION:
            if version.upper().startswith("SIP/"):
                raise SipParseError(f"unsupported version {version[:20]!r}", 505)
            raise SipParseError(f"bad request line {start[:80]!r}")
        message = SipRequest(method, uri, fields, body)
    message._index = index
    return message


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """Build a response copying Via, From, To (+ tag), Call-ID and CSeq (RFC 3261 §8.2.6)."""
    fields: list[tuple[str, str]] = [f for f in request.fields if f[0] in _COPIED]
    if to_tag is not None and status != 100 and request.to.tag is None:
        fields = [(name, f"{value};tag={to_tag}" if name == "To" else value) for name, value in fields]
    fields.extend(headers)
    return SipResponse(status, reason, fields, body)


def _key(name: str) -> str:
    """Index key of a header name as callers spell it ("Via", "v", "WWW-Authenticate", ...)."""
    key = _KEYS.get(name)
    if key is None:
        lname = name.lower()
        key = HEADER_NAMES.get(lname, lname).lower()
        if len(_KEYS) < 1024:  # callers use a handful of literal names; never grows with traffic
            _KEYS[name] = key
    return key


_KEYS: dict[str, str] = {}


# Exact spellings seen on the wire (canonical and compact) -> (canonical, index key); others slow path
_NAME_ENTRIES: dict[str, tuple[str, str]] = {}
for _spelling, _canon in HEADER_NAMES.items():
    for _variant in {_spelling, _canon, _spelling.upper()}:
        _NAME_ENTRIES[_variant] = (_canon, _canon.lower())

_COPIED = frozenset({"Via", "From", "To", "Call-ID", "CSeq", "Timestamp"})
