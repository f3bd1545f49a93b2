"""Small RFC 3261 grammar helpers shared by the URI and header parsers."""

from __future__ import annotations

import re

from sipline.sip.errors import SipParseError

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# display-name = *(token LWS) — tokens separated by whitespace
TOKEN_WORDS_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*")
WHITESPACE_RE = re.compile(r"[ \t\r\n]")

_SIMPLE_PARAMS_RE = re.compile(r"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~]+)?)+")

Params = dict[str, str | None]


def is_token(text: str) -> bool:
    return TOKEN_RE.fullmatch(text) is not None


def find_closing_quote(text: str, start: int) -> int:
    """Index of the '"' closing the quoted string that opens at ``start``."""
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i
        i += 1
    raise SipParseError("unterminated quoted string")


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except inside quoted strings and <...> (URIs may contain ',' ';')."""
    if '"' not in text and "<" not in text:
        return text.split(sep)
    parts: list[str] = []
    depth = 0
    last = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = find_closing_quote(text, i) + 1
            continue
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append(text[last:i])
            last = i + 1
        i += 1
    parts.append(text[last:])
    return parts


def parse_params(text: str) -> Params:
    """Parse ``;name=value;flag`` header parameters (text starts at the first ';' or is empty).

    Whitespace around ';' and '=' is allowed (LWS); empty parameters are an error.
    Names are lower-cased (they compare case-insensitively); values are kept as sent.
    """
    params: Params = {}
    if _SIMPLE_PARAMS_RE.fullmatch(text) is not None:  # fast path: no LWS, no quotes
        for piece in text[1:].split(";"):
            name, eq, value = piece.partition("=")
            params[name.lower()] = value if eq else None
        return params
    text = text.strip()
    if not text:
        return params
    if text[0] != ";":
        raise SipParseError(f"unexpected text before parameters: {text[:40]!r}")
    for piece in split_outside_quotes(text[1:], ";"):
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not is_token(name):
            raise SipParseError(f"bad parameter name {name!r}")
        if eq:
            value = value.strip()
            if not value:
                raise SipParseError(f"empty value for parameter {name!r}")
            if value[0] == '"':
                if find_closing_quote(value, 0) != len(value) - 1:
                    raise SipParseError(f"bad quoted value for parameter {name!r}")
            elif WHITESPACE_RE.search(value) or not _is_param_value(value):
                raise SipParseError(f"bad value for parameter {name!r}")
            params[name.lower()] = value
        else:
            params[name.lower()] = None
    return params


def _is_param_value(value: str) -> bool:
    # gen-value = token / host / quoted-string; host may be an IPv6 reference with ':' and '[]'
    return TOKEN_RE.fullmatch(value) is not None or re.fullmatch(r"\[[0-9A-Fa-f:.]+\]", value) is not None


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def unquote(value: str) -> str:
    """Strip surrounding quotes and resolve quoted-pairs."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" in inner:
            return re.sub(r"\\(.)", r"\1", inner, flags=re.S)
        return inner
    return value
