"""File descriptors: raising the process's open-file limit, and sharing it out.

Every TCP connection, SIP or HTTP, takes a descriptor; so do the database's connections, the
listeners and the log. The SIP connection cap is derived from the limit so that a flood of SIP
connections leaves room for the rest.
"""

from __future__ import annotations

import contextlib
import resource
from dataclasses import dataclass
from pathlib import Path

# Descriptors kept for everything that is neither a SIP nor an HTTP connection: database
# connections (a PostgreSQL pool, SQLite's files), listeners, UDP sockets, logs, the event loop.
RESERVED_DESCRIPTORS = 128
MIN_SIP_CONNECTIONS = 16
MAX_SIP_CONNECTIONS = 1_000_000
_UNLIMITED_TARGET = 1_048_576  # Linux's default fs.nr_open: the most a soft limit can be
_SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


@dataclass(frozen=True, slots=True)
class OpenFileLimit:
    soft: int
    hard: int  # resource.RLIM_INFINITY when unlimited
    raised_from: int | None = None  # the soft limit before start-up raised it

    def describe(self) -> str:
        hard = "unlimited" if self.hard == resource.RLIM_INFINITY else str(self.hard)
        raised = f", raised from {self.raised_from}" if self.raised_from is not None else ""
        return f"open files: soft limit {self.soft} (hard {hard}{raised})"


def raise_open_file_limit() -> OpenFileLimit:
    """Raise the soft RLIMIT_NOFILE to the hard limit (as far as the system lets us)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):  # e.g. above fs.nr_open, or macOS's OPEN_MAX
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return OpenFileLimit(target, hard, raised_from=soft)
    return OpenFileLimit(soft, hard)


def default_sip_connection_cap(http_connections: int, rtp_sockets: int) -> int:
    """The total SIP TCP/TLS connection cap when none is configured: the current soft limit less
    the HTTP API's connections, the media relay's sockets (one per port of its RTP range, as when
    every pair is in a call) and the reserve; never under ``MIN_SIP_CONNECTIONS``."""
    return max(MIN_SIP_CONNECTIONS, min(MAX_SIP_CONNECTIONS, _unclaimed(http_connections, rtp_sockets)))


def descriptor_shortfall(sip_connections: int, http_connections: int, rtp_sockets: int) -> int:
    """How many descriptors the soft limit lacks for the SIP connection cap in force, the HTTP
    connections, the RTP range and the reserve (0 when it holds them all)."""
    return max(0, sip_connections - _unclaimed(http_connections, rtp_sockets))


def _unclaimed(http_connections: int, rtp_sockets: int) -> int:
    """Descriptors the soft limit leaves for SIP connections."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_SIP_CONNECTIONS
    return soft - http_connections - rtp_sockets - RESERVED_DESCRIPTORS


def somaxconn() -> int | None:
    """Linux's cap on every listen backlog (net.core.somaxconn), or None where unknown."""
    try:
        return int(_SOMAXCONN.read_text())
    except (OSError, ValueError):
        return None
