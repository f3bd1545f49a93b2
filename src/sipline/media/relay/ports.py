"""RTP port pairs from a configured range: an even RTP port and RTCP on the next one, both bound.

Freed pairs go to the back of the queue, so a port just released (whose late packets may still be
in flight) is the last to be reused. A port some other process holds is skipped, not fatal.
"""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass

from sipline.media.port import NoFreePort


@dataclass(frozen=True)
class PortPair:
    port: int  # RTP; RTCP is port + 1
    rtp: socket.socket
    rtcp: socket.socket

    def close(self) -> None:
        """Close both sockets (only while no transport owns them)."""
        self.rtp.close()
        self.rtcp.close()


class PortAllocator:
    def __init__(self, host: str, first: int, last: int) -> None:
        if not 1024 <= first <= last <= 65535:
            raise ValueError(f"RTP port range {first}-{last} is not within 1024-65535")
        self.host = host
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        start = first + (first % 2)
        self._free: deque[int] = deque(range(start, last, 2))  # last may be an RTCP port, never RTP
        if not self._free:
            raise ValueError(f"RTP port range {first}-{last} holds no even/odd port pair")
        self._in_use: set[int] = set()

    @property
    def capacity(self) -> int:
        return len(self._free) + len(self._in_use)

    @property
    def in_use(self) -> int:
        return len(self._in_use)

    def allocate(self) -> PortPair:
        """The next free pair, bound (non-blocking); NoFreePort when every pair is taken."""
        for _ in range(len(self._free)):
            port = self._free.popleft()
            pair = self._bind(port)
            if pair is not None:
                self._in_use.add(port)
                return pair
            self._free.append(port)  # held by another process: try it again later
        raise NoFreePort(f"no free RTP port pair in the configured range ({self.capacity} pairs)")

    def release(self, pair: PortPair) -> None:
        """Return the pair's port; releasing twice is harmless.

        Its sockets are closed by whoever owns them (their transports): until then the port stays
        bound, and ``allocate`` skips it.
        """
        if pair.port in self._in_use:
            self._in_use.discard(pair.port)
            self._free.append(pair.port)

    def _bind(self, port: int) -> PortPair | None:
        rtp = socket.socket(self._family, socket.SOCK_DGRAM)
        rtcp = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            rtp.bind((self.host, port))
            rtcp.bind((self.host, port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            return None
        rtp.setblocking(False)
        rtcp.setblocking(False)
        return PortPair(port, rtp, rtcp)
