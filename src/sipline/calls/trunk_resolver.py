"""A trunk's host name to an address, cached for a while: no DNS lookup per call."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket

DEFAULT_TTL = 60.0  # seconds a trunk's name keeps its address
MAX_NAMES = 1024  # trunks are configured, so few; the bound keeps a bad table from growing memory


class TrunkResolver:
    """One per node, built by the composition root and shared by its calls."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[str, int], tuple[tuple[str, int], float]] = {}

    async def resolve(self, host: str, port: int) -> tuple[str, int]:
        """The address to send to; raises ``OSError`` when the name does not resolve."""
        if _is_ip(host):
            return host, port
        loop = asyncio.get_running_loop()
        cached = self._cache.get((host, port))
        if cached is not None and cached[1] > loop.time():
            return cached[0]
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        if not infos:
            raise OSError(f"cannot resolve {host}")
        address = (str(infos[0][4][0]), int(infos[0][4][1]))
        if len(self._cache) >= MAX_NAMES:
            self._cache.clear()
        self._cache[(host, port)] = (address, loop.time() + self.ttl)
        return address


@functools.lru_cache(maxsize=256)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
