"""Claiming the outbox: on PostgreSQL several workers (nodes) share it, each event claimed by one
(SELECT ... FOR UPDATE SKIP LOCKED); on SQLite one worker. Either way every event arrives once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from sqlalchemy import insert, select

from sipline.bootstrap import Platform
from sipline.events.delivery import DeliveryPolicy, PushWorker
from sipline.events.outbox import OUTBOX, PENDING, encode
from sipline.store.models import App
from tests.conftest import Customer
from tests.events.conftest import FAST_SCHEDULE, arrived, outbox_until
from tests.events.receiver import Receiver

EVENTS = 120


async def test_every_event_is_claimed_by_one_worker_and_arrives_once(
    platform: Platform, customer: Customer, receiver: Receiver
) -> None:
    config = await platform.push_config.set_push(customer.app_id, receiver.url)
    now = datetime.now(UTC)
    async with platform.sessions() as session:
        app_pk = await session.scalar(select(App.id).where(App.app_id == customer.app_id))
        await session.execute(
            insert(OUTBOX),
            [
                {
                    "event_id": f"msg_{n:019d}_3",
                    "app_pk": app_pk,
                    "voice_id": f"{n:019d}",
                    "sequence": 3,
                    "event_type": "report",
                    "body": encode({"voiceId": f"{n:019d}", "eventId": f"msg_{n:019d}_3"}),
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(EVENTS)
            ],
        )
        await session.commit()

    # small batches, so that the nodes' claims interleave
    policy = DeliveryPolicy(15, FAST_SCHEDULE, 60, batch=5, concurrency=10, poll_interval=0.01)
    nodes = 2 if platform.engine.dialect.name == "postgresql" else 1
    workers = [
        PushWorker(platform.sessions, platform.push._box, platform.push.guard, policy) for _ in range(nodes)
    ]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        arrivals = await arrived(receiver, lambda got: len(got) >= EVENTS)
        deadline = asyncio.get_running_loop().time() + 15
        while sum(w.outcomes["delivered"] for w in workers) < EVENTS:  # every outcome written
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a second delivery of any of them would come now
        arrivals = receiver.delivered()
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    ids = [arrival.event_id for arrival in arrivals]
    assert len(ids) == EVENTS and len(set(ids)) == EVENTS
    assert all(arrival.verified(config.secret)["eventId"] == arrival.event_id for arrival in arrivals)
    assert sum(worker.outcomes["delivered"] for worker in workers) == EVENTS
    entries = await outbox_until(
        platform, customer.app_id, lambda got: all(e.state == "delivered" for e in got), limit=EVENTS
    )
    assert [entry.state for entry in entries] == ["delivered"] * EVENTS
