"""The platform with its push worker running against a local receiver (loopback allowed, a fast
retry schedule), and virtual phones to place calls with."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from sipline.bootstrap import Platform
from sipline.services.push import OutboxEntry
from tests.calls.conftest import live, phone_of  # noqa: F401 (fixtures)
from tests.conftest import free_port
from tests.events.receiver import Arrival, Receiver

FAST_SCHEDULE = (0.0, 0.2, 0.4, 0.8, 1.6, 3.2)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "push_allowed_networks": ("127.0.0.0/8",),
        "push_retry_schedule": FAST_SCHEDULE,
        "push_poll_interval": 0.05,
        "push_recording_wait": 10.0,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(free_port())
    started.start()
    yield started
    started.stop()


@pytest.fixture
async def pushing(platform: Platform) -> AsyncIterator[Platform]:
    """The platform's push worker running."""
    worker = asyncio.create_task(platform.push.serve())
    yield platform
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker


async def arrived(
    receiver: Receiver, done: Callable[[list[Arrival]], bool], timeout: float = 15.0
) -> list[Arrival]:
    """The receiver's requests once ``done`` says they are all there (or the timeout passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(arrivals := receiver.delivered()) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return arrivals


async def outbox_until(
    platform: Platform, app_id: str, done: Any, timeout: float = 15.0, limit: int = 50
) -> list[OutboxEntry]:
    """The app's outbox (newest first) once ``done`` says so (or the timeout passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (
        not done(entries := await platform.push_config.outbox(app_id, limit=limit)) and loop.time() < deadline
    ):
        await asyncio.sleep(0.05)
    return entries
