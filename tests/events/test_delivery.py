"""How the push worker treats what the endpoint answers, seen from a real receiver (http.server)
with its own arrival times: down then up, 410, Retry-After, secret rotation, the SSRF guard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from sipline.bootstrap import Platform
from sipline.client import verify
from sipline.domain.errors import ApiError
from sipline.events.ssrf import UrlGuard
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, free_port
from tests.events.conftest import arrived, outbox_until
from tests.events.receiver import Answer, Arrival, Receiver

REFUSED_AT_ONCE = UK + "0404"  # the sandbox answers 404 at once: the quickest call to report


async def calls(api: Api, record: dict[str, Any], count: int) -> list[str]:
    """``count`` calls from one phone, one after the other, each until its record is settled."""
    voice_ids = []
    for _ in range(count):
        voice_id = (await send(api, record, REFUSED_AT_ONCE))["data"]
        assert (await finished(api, voice_id))["terminationCode"] == "404"
        voice_ids.append(voice_id)
    return voice_ids


async def test_reports_made_while_the_receiver_is_down_all_arrive_once_it_is_up(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    receiver = Receiver(free_port())  # not listening yet: connections are refused
    config = await live.push_config.set_push(api.customer.app_id, receiver.url)
    _phone, record = await phone_of()
    voice_ids = await calls(api, record, 3)
    tried = await outbox_until(
        live, api.customer.app_id, lambda got: len(got) == 3 and all(e.attempts >= 2 for e in got)
    )
    assert all(entry.state in ("pending", "delivering") for entry in tried)
    assert all("ConnectError" in (entry.last_error or "") for entry in tried if entry.state == "pending")
    refused = await live.push_config.log(api.customer.app_id, event_id=tried[0].event_id)
    assert refused and all(t.status is None and "ConnectError" in (t.error or "") for t in refused)

    receiver.start()
    try:
        arrivals = await arrived(receiver, lambda got: len(got) >= 3)
        delivered = await outbox_until(
            live, api.customer.app_id, lambda got: all(e.state == "delivered" for e in got)
        )
    finally:
        receiver.stop()
    assert sorted(arrival.verified(config.secret)["voiceId"] for arrival in arrivals) == sorted(voice_ids)
    assert len({arrival.event_id for arrival in arrivals}) == 3  # each once, none lost
    assert [entry.state for entry in delivered] == ["delivered"] * 3
    assert all(entry.attempts >= 3 for entry in delivered)


async def test_410_disables_the_endpoint_until_it_is_set_again_and_replay_sends_what_it_refused(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    app_id = api.customer.app_id
    receiver.script = lambda _arrival, count: (410, {}) if count == 0 else (204, {})
    config = await live.push_config.set_push(app_id, receiver.url)
    _phone, record = await phone_of()
    [first] = await calls(api, record, 1)
    await arrived(receiver, lambda got: len(got) >= 1)
    entries = await outbox_until(live, app_id, lambda got: got[0].state == "disabled")
    assert entries[0].state == "disabled" and entries[0].last_status == 410 and entries[0].attempts == 1
    view = await live.push_config.show(app_id)
    assert view.disabled_at is not None and "410" in (view.disabled_reason or "")

    [second] = await calls(api, record, 1)  # written to the outbox, not sent to a disabled endpoint
    await asyncio.sleep(20 * live.settings.push_poll_interval)
    assert len(receiver.delivered()) == 1
    assert [(e.voice_id, e.state) for e in await live.push_config.outbox(app_id)] == [
        (second, "pending"),
        (first, "disabled"),
    ]

    await live.push_config.set_push(app_id, receiver.url)  # enabled again: what waited goes
    await arrived(receiver, lambda got: len(got) >= 2)
    assert await live.push_config.replay(app_id) == 1  # the refused one
    arrivals = await arrived(receiver, lambda got: len(got) >= 3)
    assert [arrival.verified(config.secret)["voiceId"] for arrival in arrivals] == [first, second, first]
    settled = await outbox_until(live, app_id, lambda got: all(e.state == "delivered" for e in got))
    assert [e.state for e in settled] == ["delivered", "delivered"]


async def test_retry_after_is_obeyed_in_seconds_and_as_an_http_date(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    def script(arrival: Arrival, count: int) -> Answer:
        if count == 0:
            return 503, {"Retry-After": "2"}
        if count == 1:
            return 429, {"Retry-After": formatdate(arrival.at + 3, usegmt=True)}  # whole seconds
        return 200, {}

    receiver.script = script
    config = await live.push_config.set_push(api.customer.app_id, receiver.url)
    _phone, record = await phone_of()
    [voice_id] = await calls(api, record, 1)
    arrivals = await arrived(receiver, lambda got: len(got) >= 3)
    # the schedule alone would have tried again after 0.2 s, then 0.4 s
    assert arrivals[1].at - arrivals[0].at >= 2.0
    assert arrivals[2].at - arrivals[1].at >= 2.0
    assert {arrival.event_id for arrival in arrivals} == {f"msg_{voice_id}_3"}
    assert len({arrival.body for arrival in arrivals}) == 1  # the same report each time
    assert all(arrival.verified(config.secret)["voiceId"] == voice_id for arrival in arrivals)
    [entry] = await outbox_until(live, api.customer.app_id, lambda got: got[0].state == "delivered")
    assert entry.attempts == 3 and entry.last_status == 200
    log = list(reversed(await live.push_config.log(api.customer.app_id)))  # the delivery log
    assert [(t.event_id, t.attempt, t.status) for t in log] == [
        (f"msg_{voice_id}_3", 1, 503),
        (f"msg_{voice_id}_3", 2, 429),
        (f"msg_{voice_id}_3", 3, 200),
    ]
    assert "Retry-After 2 s" in (log[0].error or "") and log[2].error is None
    assert all(t.latency_ms >= 0 for t in log)
    assert (log[1].attempted_at - log[0].attempted_at).total_seconds() >= 2.0


async def test_a_rotated_secret_signs_beside_the_old_one_during_the_grace_then_alone(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    app_id = api.customer.app_id
    old = (await live.push_config.set_push(app_id, receiver.url)).secret
    rotated = await live.push_config.rotate_secret(app_id, grace_seconds=2.0)
    new = rotated.secret
    assert new != old and rotated.previous_secret_expires_at is not None
    _phone, record = await phone_of()
    await calls(api, record, 1)
    [during] = await arrived(receiver, lambda got: len(got) >= 1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(during.body, during.headers, old) == verify(during.body, during.headers, new)

    wait = (rotated.previous_secret_expires_at - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(0.0, wait) + 0.1)
    assert (await live.push_config.show(app_id)).previous_secret_expires_at is None
    await calls(api, record, 1)
    after = (await arrived(receiver, lambda got: len(got) >= 2))[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify(after.body, after.headers, new)["eventId"] == after.event_id
    with pytest.raises(WebhookVerificationError):
        verify(after.body, after.headers, old)


async def test_internal_addresses_are_refused_when_set_and_when_sending_and_get_nothing(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    app_id = api.customer.app_id
    live.push_config.guard = UrlGuard(())  # loopback not allowed (the default)
    refused = {
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local address",
        "http://10.0.0.1/hook": "10.0.0.1 is a private address",
        f"http://localhost:{receiver.port}/hook": "resolves to 127.0.0.1, a loopback address",
        f"http://127.0.0.1:{receiver.port}/hook": "127.0.0.1 is a loopback address",
    }
    for url, why in refused.items():
        with pytest.raises(ApiError) as caught:
            await live.push_config.set_push(app_id, url)
        assert caught.value.status == "-22" and why in caught.value.reason, caught.value.reason

    # Set while allowed, refused when sending: the stored URL is checked again before each request.
    live.push_config.guard = live.push.guard
    await live.push_config.set_push(app_id, f"http://localhost:{receiver.port}/hook")
    live.push.guard = UrlGuard(())
    _phone, record = await phone_of()
    await calls(api, record, 1)
    [entry] = await outbox_until(live, app_id, lambda got: got and got[0].attempts >= 2)
    assert "resolves to 127.0.0.1, a loopback address" in (entry.last_error or "")
    assert receiver.delivered() == []  # resolved only: nothing was sent
