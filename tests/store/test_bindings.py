"""Registrations survive a restart: the write-behind binding store on SQLite and PostgreSQL."""

import contextlib
from datetime import UTC, datetime, timedelta

from sipline.bootstrap import Platform
from sipline.sip.bindings import Binding
from sipline.store.bindings import PersistentBindingStore


def binding(account: str, contact: str, seconds: int, now: datetime, **extra: object) -> Binding:
    values: dict[str, object] = {
        "account": account,
        "contact": contact,
        "expires_at": now + timedelta(seconds=seconds),
        "call_id": f"{contact}-call",
        "cseq": 7,
        "transport": "tcp",
        "source_host": "127.0.0.1",
        "source_port": 40123,
        "local_host": "127.0.0.1",
        "local_port": 5060,
        "connection_id": 12,
        "user_agent": "baresip",
    }
    values.update(extra)
    return Binding(**values)  # type: ignore[arg-type]


async def test_flushed_bindings_are_loaded_by_a_new_process(platform: Platform) -> None:
    now = datetime.now(UTC)
    first = PersistentBindingStore(platform.engine)
    first.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 300, now))
    first.save_binding(binding("1000000001", "sip:b@127.0.0.1:5071", 600, now, q=0.5))
    first.save_binding(binding("1000000002", "sip:c@127.0.0.1:5072", 300, now))
    first.save_binding(binding("1000000003", "sip:old@127.0.0.1:5073", -5, now))
    first.remove_binding("1000000002", "sip:c@127.0.0.1:5072")
    assert await first.flush() == 4
    assert await first.flush() == 0  # nothing changed since

    second = PersistentBindingStore(platform.engine)
    assert await second.load(now) == 2  # the expired one is not brought back
    restored = sorted(second.list_bindings("1000000001"), key=lambda b: b.contact)
    assert [b.contact for b in restored] == ["sip:a@127.0.0.1:5070", "sip:b@127.0.0.1:5071"]
    assert restored[1].q == 0.5
    assert restored[0].expires_at == now + timedelta(seconds=300)
    flow = (restored[0].transport, restored[0].source_port, restored[0].user_agent)
    assert flow == ("tcp", 40123, "baresip")
    assert restored[0].connection_id is None  # a TCP connection does not survive a restart
    assert second.list_bindings("1000000002") == []
    assert second.latest("1000000001", now).contact == "sip:b@127.0.0.1:5071"  # type: ignore[union-attr]


async def test_refresh_and_unregister_all_are_written(platform: Platform) -> None:
    now = datetime.now(UTC)
    store = PersistentBindingStore(platform.engine, refresh_every=3)
    store.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 60, now))
    assert await store.flush() == 1
    # a refresh (same contact, same flow, later expiry) waits for every third flush ...
    store.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 3600, now, cseq=8))
    assert await store.flush() == 0
    assert await store.flush() == 1
    reloaded = PersistentBindingStore(platform.engine)
    await reloaded.load(now)
    (only,) = reloaded.list_bindings("1000000001")
    assert only.cseq == 8 and only.expires_at == now + timedelta(seconds=3600)
    # ... while a binding that moved (new source port: NAT rebinding) is written at once
    reloaded.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 3600, now, cseq=9, source_port=40999))
    assert await reloaded.flush() == 1
    moved = PersistentBindingStore(platform.engine)
    await moved.load(now)
    assert moved.list_bindings("1000000001")[0].source_port == 40999
    moved.remove_all_bindings("1000000001")
    await moved.flush()
    empty = PersistentBindingStore(platform.engine)
    assert await empty.load(now) == 0


async def test_a_clean_stop_writes_deferred_refreshes(platform: Platform) -> None:
    import asyncio

    now = datetime.now(UTC)
    store = PersistentBindingStore(platform.engine)
    store.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 60, now))
    await store.flush()
    store.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 3600, now, cseq=8))
    writer = asyncio.create_task(store.run(flush_interval=60))
    await asyncio.sleep(0)
    writer.cancel()  # shutdown: the final flush writes everything
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    reloaded = PersistentBindingStore(platform.engine)
    await reloaded.load(now)
    assert reloaded.list_bindings("1000000001")[0].cseq == 8


async def test_a_flush_cancelled_half_way_loses_nothing(platform: Platform) -> None:
    import asyncio

    now = datetime.now(UTC)
    store = PersistentBindingStore(platform.engine)
    store.save_binding(binding("1000000001", "sip:a@127.0.0.1:5070", 300, now))
    flushing = asyncio.create_task(store.flush())
    await asyncio.sleep(0)  # the flush has taken the changed keys and is waiting on the database
    flushing.cancel()  # as at shutdown
    with contextlib.suppress(asyncio.CancelledError):
        await flushing
    assert await store.flush() == 1  # the cancelled batch is written by the next flush
    reloaded = PersistentBindingStore(platform.engine)
    assert await reloaded.load(now) == 1
