"""RTP port ranges for the systems under test."""

from __future__ import annotations

import random
import socket


def free_port_ranges(count: int, size: int) -> list[range]:
    """`count` disjoint ranges of `size` UDP ports, every one free now, below the ephemeral range."""
    if count * size > 32768 - 20000:
        raise SystemExit(f"{count} x {size} RTP ports do not fit between 20000 and 32767")
    for _ in range(50):
        base = random.randrange(20000, 32768 - count * size) & ~1
        ranges = [range(base + i * size, base + (i + 1) * size) for i in range(count)]
        if all(_udp_free(port) for span in ranges for port in span):
            return ranges
    raise SystemExit("no free RTP port ranges between 20000 and 32767")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
