"""A running platform (SIP and the sandbox carrier started) and virtual phones registered to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from sipline.bootstrap import Platform
from sipline.carrier.phone import VirtualPhone
from sipline.store.models import Account
from tests.conftest import Api

RING_SECONDS = 2.0  # both legs' ring timeouts here, far below what the settings allow


@pytest.fixture
async def live(platform: Platform) -> AsyncIterator[Platform]:
    """The platform with its SIP service and the sandbox carrier (ringing 0.2 s) running; phone and
    callee ring at most ``RING_SECONDS``."""
    assert platform.sandbox is not None
    platform.calls.limits = replace(
        platform.calls.limits, phone_ring_timeout=RING_SECONDS, callee_ring_timeout=RING_SECONDS
    )
    platform.sandbox.ring_seconds = 0.2
    await platform.start_sandbox()
    await platform.media.start()
    await platform.sip.start()
    yield platform
    await platform.calls.shutdown()
    await platform.media.stop()
    await platform.sip.stop()
    await platform.sandbox.stop()


PhoneFactory = Callable[..., Awaitable[tuple[VirtualPhone, dict[str, Any]]]]


@pytest.fixture
async def phone_of(live: Platform, api: Api) -> AsyncIterator[PhoneFactory]:
    """Make phones through sipAdd and register virtual phones with the credentials sipQuery shows."""
    started: list[VirtualPhone] = []

    async def make(index: int = 0, **options: Any) -> tuple[VirtualPhone, dict[str, Any]]:
        listing = await api.query()
        if listing["data"] is None or not listing["data"]["records"]:  # type: ignore[index]
            assert (await api.add(quantity=3))["status"] == "0"
            listing = await api.query()
        record: dict[str, Any] = listing["data"]["records"][index]  # type: ignore[index]
        phone = VirtualPhone(
            ("127.0.0.1", live.sip.port),
            record["account"],
            record["password"],
            domain=live.settings.sip_domain,
            **{"answer_after": 0.1, **options},
        )
        await phone.start()
        started.append(phone)
        return phone, record

    yield make
    await asyncio.gather(*(phone.stop() for phone in started), return_exceptions=True)


async def finished(api: Api, voice_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The call's record once it has a hang-up time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        record = await record_of(api, voice_id)
        if record["hangupTime"] is not None or loop.time() > deadline:
            return record
        await asyncio.sleep(0.1)


async def record_of(api: Api, voice_id: str) -> dict[str, Any]:
    answer = await api.http.get(f"/voice/recordSip/{voice_id}", headers=api.customer.headers())
    assert answer.json()["status"] == "0", answer.text
    record: dict[str, Any] = answer.json()["data"]
    return record


async def set_balance(platform: Platform, api: Api, amount: Decimal) -> None:
    async with platform.sessions() as session:
        await session.execute(
            update(Account).where(Account.api_key == api.customer.api_key).values(balance=amount)
        )
        await session.commit()


def names_only_the_platform(platform: Platform, description: bytes) -> bool:
    """Whether every address and audio port in ``description`` is the platform's own RTP."""
    settings = platform.settings
    lines = description.decode().splitlines()
    hosts = {line.split()[2] for line in lines if line.startswith("c=")}
    ports = [int(line.split()[1]) for line in lines if line.startswith("m=audio")]
    in_range = all(settings.rtp_port_min <= port <= settings.rtp_port_max for port in ports)
    return hosts == {settings.host} and bool(ports) and in_range
