"""rtpengine's ng control protocol: bencoded dictionaries over UDP, each behind a cookie.

Just what the bench sends (offer, answer, delete) and reads back (result, sdp, error-reason).
"""

from __future__ import annotations

import itertools
import os
import socket

Bencodable = bytes | str | int | list["Bencodable"] | dict[str, "Bencodable"]


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return str(len(value)).encode() + b":" + value
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    items = sorted(value.items())  # bencode wants keys sorted
    return b"d" + b"".join(bencode(key) + bencode(item) for key, item in items) + b"e"


def bdecode(data: bytes) -> Bencodable:
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the bencoded value")
    return value


def _decode(data: bytes, at: int) -> tuple[Bencodable, int]:
    kind = data[at : at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        items: list[Bencodable] = []
        at += 1
        while data[at : at + 1] != b"e":
            item, at = _decode(data, at)
            items.append(item)
        if kind == b"l":
            return items, at + 1
        keys = items[0::2]
        if not all(isinstance(key, bytes) for key in keys):
            raise ValueError("a dictionary key is not a string")
        return {key.decode(): item for key, item in zip(keys, items[1::2], strict=True)}, at + 1  # type: ignore[union-attr]
    colon = data.index(b":", at)
    length = int(data[at:colon])
    if length < 0 or colon + 1 + length > len(data):
        raise ValueError("a string runs past the end")
    return data[colon + 1 : colon + 1 + length], colon + 1 + length


class NgClient:
    """One ng conversation with an rtpengine (blocking, one request at a time)."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout)
        self.cookies = (f"{os.getpid()}_{n}".encode() for n in itertools.count())

    def command(
        self, name: str, fields: dict[str, Bencodable], expect: bytes = b"ok"
    ) -> dict[str, Bencodable]:
        """Send `name` with `fields` (ng's own names: "call-id", "record call") and return the
        reply, raising RuntimeError unless its result is `expect`."""
        cookie = next(self.cookies)
        body: dict[str, Bencodable] = {"command": name} | fields
        self.sock.sendto(cookie + b" " + bencode(body), self.address)
        while True:
            data = self.sock.recv(65535)
            answer_cookie, _, payload = data.partition(b" ")
            if answer_cookie == cookie:
                break
        reply = bdecode(payload)
        if not isinstance(reply, dict) or reply.get("result") != expect:
            reason = reply.get("error-reason", reply) if isinstance(reply, dict) else reply
            raise RuntimeError(f"rtpengine {name}: {reason!r}")
        return reply

    def close(self) -> None:
        self.sock.close()
