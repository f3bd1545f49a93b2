"""Bounds on the HTTP API's connections, which uvicorn leaves open-ended.

uvicorn's ``limit_concurrency`` answers 503 to requests over the limit, but it still accepts every
connection, and one that never sends a request is never closed: a flood of them would take the
descriptors the database needs. The guard closes connections over the limit at once, and those
that send nothing within uvicorn's keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import uvicorn

log = logging.getLogger(__name__)


def limit_http_connections(config: uvicorn.Config, max_connections: int) -> None:
    """Make ``config``'s HTTP protocol a guarded one (loads the config: its protocol class is
    chosen then)."""
    if not config.loaded:
        config.load()
    config.http_protocol_class = _guarded(
        config.http_protocol_class, max_connections, config.timeout_keep_alive
    )


def _guarded(
    base: type[asyncio.Protocol], max_connections: int, silence_timeout: float
) -> type[asyncio.Protocol]:
    class Guarded(base):  # type: ignore[valid-type, misc]  # uvicorn picks the base at run time
        open_connections = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._heard = False
            self._silence: asyncio.TimerHandle | None = None
            if Guarded.open_connections >= max_connections:
                self._counted = False
                log.debug("HTTP connection refused: %d open (http_max_connections)", max_connections)
                cast(asyncio.Transport, transport).abort()  # uvloop's is no asyncio.Transport subclass
                return
            self._counted = True
            Guarded.open_connections += 1
            self._silence = asyncio.get_running_loop().call_later(
                silence_timeout, self._close_silent, transport
            )

        def data_received(self, data: bytes) -> None:
            if not self._heard:
                self._heard = True
                if self._silence is not None:
                    self._silence.cancel()
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._counted:
                self._counted = False
                Guarded.open_connections -= 1
            if self._silence is not None:
                self._silence.cancel()
            super().connection_lost(exc)

        def _close_silent(self, transport: asyncio.BaseTransport) -> None:
            if not self._heard:
                transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded
