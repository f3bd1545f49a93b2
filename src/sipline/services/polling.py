"""Watchers of the database that other processes write to (directory, rate decks): poll for ever."""

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def poll_forever(
    check: Callable[[], Awaitable[object]], interval: float, log: logging.Logger, what: str
) -> None:
    """Run ``check`` every ``interval`` seconds until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            await check()
        except Exception:  # a database hiccup must not end the watch; the next poll retries
            log.warning("%s poll failed", what, exc_info=True)
        await asyncio.sleep(interval)
