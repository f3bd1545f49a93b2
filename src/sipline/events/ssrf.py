"""The SSRF guard on push URLs: where a customer's report may be sent.

A push URL is checked when it is set and again before every request, because DNS can change in
between. Its host is resolved (and only resolved: nothing is sent while checking), and every address
it resolves to must be public (``is_global``, not multicast), or inside a network the operator
allowed (``push_allowed_networks``, empty by default; tests and an operator's own receivers use
127.0.0.0/8 or a private range). A name resolving to several addresses is refused if any of them is
refused, so a rebinding name cannot slip an internal address in beside a public one.

The request then goes to the address that was checked (``Target``: the URL with the address as host,
the name in the Host header and as TLS server name), so the name is not resolved again by the HTTP
client between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

MAX_URL = 2048
RECHECK_AFTER = 5.0  # seconds a checked target is used before the name is resolved and checked again
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PushUrlError(ValueError):
    """The push URL is malformed or leads somewhere pushes may not go; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str  # with the checked address as its host
    host: str  # the Host header
    server_name: str | None  # TLS SNI and certificate name (https only)


def parse(url: str) -> SplitResult:
    """The URL's parts, if it can be a push URL at all (http or https, a host, no credentials)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise PushUrlError(f"the push URL must be 1 to {MAX_URL} characters")
    if _UNSAFE.search(url):
        raise PushUrlError("the push URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PushUrlError(f"the push URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise PushUrlError("the push URL must be http:// or https://")
    if not parts.hostname:
        raise PushUrlError("the push URL has no host")
    if parts.username is not None or parts.password is not None:
        raise PushUrlError("the push URL must not carry credentials")
    if port == 0:
        raise PushUrlError("the push URL's port must be 1-65535")
    if parts.fragment:
        raise PushUrlError("the push URL must not have a fragment")
    return parts


class UrlGuard:
    def __init__(self, allowed_networks: tuple[str, ...] = ()) -> None:
        self.allowed: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_networks
        )
        self._checked: dict[str, tuple[float, Target]] = {}  # url -> (when, target), for sending

    async def recent_target(self, url: str) -> Target:
        """``target(url)``, resolved and checked at most ``RECHECK_AFTER`` seconds ago: the worker's,
        so that a thousand reports a second to one endpoint do not make a thousand DNS lookups."""
        now = time.monotonic()
        known = self._checked.get(url)
        if known is not None and now - known[0] < RECHECK_AFTER:
            return known[1]
        target = await self.target(url)
        if len(self._checked) >= 10_000:
            self._checked.clear()
        self._checked[url] = (now, target)
        return target

    def refusal(self, address: IpAddress) -> str | None:
        """Why pushes may not go to ``address``, or None."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return None
        if address.is_loopback:
            return "a loopback address"
        if address.is_link_local:
            return "a link-local address (cloud metadata services live there)"
        if address.is_private:
            return "a private address"
        if address.is_multicast or not address.is_global:
            return "not a public address"
        return None

    async def target(self, url: str) -> Target:
        """Resolve the URL's host and check every address; where to send (or PushUrlError)."""
        parts = parse(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await _resolve(host, port)
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                shown = (
                    f"{address} is" if host.strip("[]") == str(address) else f"{host} resolves to {address},"
                )
                raise PushUrlError(f"the push URL is refused: {shown} {why}")
        chosen = addresses[0]
        literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        host_header = parts.netloc.rsplit("@", 1)[-1]
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return Target(pinned, host_header, host if parts.scheme == "https" else None)


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise PushUrlError(f"the push URL's host {host} cannot be resolved: {exc}") from None
    found: list[IpAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise PushUrlError(f"the push URL's host {host} has no address")
    return found
