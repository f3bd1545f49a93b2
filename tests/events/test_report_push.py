"""The status report push end to end: calls through the sandbox carrier, each call's report received
by a real HTTP server (the standard library's), signed by Standard Webhooks and verified with the
``standardwebhooks`` package, every field equal to the record recordSip shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sipline.bootstrap import Platform
from sipline.events.outbox import LiveEvents, Outbox
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api
from tests.events.conftest import arrived, outbox_until
from tests.events.receiver import Receiver

SAME_AS_RECORD = (
    "voiceId",
    "callee",
    "displayNum",
    "code",
    "callDuration",
    "chargedDuration",
    "billPeriod",
    "rate",
    "cost",
    "baseCost",
    "recordingFileId",
    "currency",
    "settleRate",
    "quoteExchange",
    "settlePay",
    "terminationCode",
    "terminationReason",
    "feedbackValue",
    "calledInfo",
)
TIMES = ("submitTime", "callTime", "ringingTime", "answerTime", "hangupTime")


def assert_report_is_the_record(report: dict[str, Any], record: dict[str, Any]) -> None:
    for field in SAME_AS_RECORD:
        assert report[field] == record[field], field
    for field in TIMES:  # epoch ms in the push, ISO 8601 (whole seconds) in recordSip
        if record[field] is None:
            assert report[field] is None, field
        else:
            assert report[field] // 1000 == int(datetime.fromisoformat(record[field]).timestamp()), field
    assert report["type"] == 3
    assert report["sipCode"] == int(record["terminationCode"])
    if record["ringingTime"] is not None:
        end = report["answerTime"] or report["hangupTime"]
        assert report["ringDuration"] == (end - report["ringingTime"]) // 1000
    else:
        assert report["ringDuration"] == 0


async def test_each_call_gets_one_signed_report_equal_to_its_record(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    config = await live.push_config.set_push(api.customer.app_id, receiver.url)
    assert config.secret.startswith("whsec_") and config.events == ("report",)
    _phone, first = await phone_of(0)
    _phone, second = await phone_of(1)
    answered = (await send(api, first, UK + "9001"))["data"]  # answered, talks 1 s: recorded
    busy = (await send(api, second, UK + "0486"))["data"]  # the sandbox rings, then 486 Busy Here
    records = {voice_id: await finished(api, voice_id) for voice_id in (answered, busy)}

    arrivals = await arrived(receiver, lambda got: len(got) >= 2)
    reports = [arrival.verified(config.secret) for arrival in arrivals]
    assert sorted(report["voiceId"] for report in reports) == sorted(records)
    for arrival, report in zip(arrivals, reports, strict=True):
        assert arrival.event_id == report["eventId"] == f"msg_{report['voiceId']}_3"
        assert report["sequence"] == 3 and report["event"] == "report"
        assert arrival.headers["content-type"] == "application/json"
        # the record as recordSip shows it now, after the push: nothing changed since the report
        assert_report_is_the_record(report, await finished(api, report["voiceId"]))
    by_id = {report["voiceId"]: report for report in reports}
    assert by_id[answered]["recordingFileId"] is not None and by_id[answered]["callDuration"] >= 1
    assert by_id[busy]["terminationCode"] == "486" and by_id[busy]["answerTime"] is None

    # The answered call's report waited for its recording: the mp3 was ready when it arrived.
    await outbox_until(live, api.customer.app_id, lambda got: all(e.state == "delivered" for e in got))
    async with live.sessions() as session:
        from sqlalchemy import select

        from sipline.store.models import CallRecord, PushOutbox

        outbox = (await session.scalars(select(PushOutbox).order_by(PushOutbox.id))).all()
        ready_at = await session.scalar(
            select(CallRecord.recording_status).where(CallRecord.voice_id == answered)
        )
    assert ready_at == "ready"
    assert [row.state for row in outbox] == ["delivered", "delivered"]
    assert all(row.attempts == 1 and row.last_status == 204 for row in outbox)
    view = await live.push_config.show(api.customer.app_id)
    assert view.outbox == {"delivered": 2}
    exported = live.metrics.expose().decode()
    assert 'sipline_push_deliveries_total{outcome="delivered"} 2.0' in exported
    assert "sipline_push_queue_depth " in exported and "sipline_push_oldest_pending_seconds " in exported


async def test_apps_that_choose_ringing_and_answered_get_them_before_the_report_in_sequence(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory, receiver: Receiver
) -> None:
    config = await live.push_config.set_push(
        api.customer.app_id, receiver.url, ["report", "ringing", "answered"]
    )
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9001"))["data"]
    done = await finished(api, voice_id)
    arrivals = await arrived(receiver, lambda got: len(got) >= 3)
    events = sorted((arrival.verified(config.secret) for arrival in arrivals), key=lambda e: e["sequence"])
    assert [(e["event"], e["sequence"], e["eventId"]) for e in events] == [
        ("ringing", 1, f"msg_{voice_id}_1"),
        ("answered", 2, f"msg_{voice_id}_2"),
        ("report", 3, f"msg_{voice_id}_3"),
    ]
    ringing, answered, report = events
    assert ringing["ringingTime"] // 1000 == int(datetime.fromisoformat(done["ringingTime"]).timestamp())
    assert answered["answerTime"] // 1000 == int(datetime.fromisoformat(done["answerTime"]).timestamp())
    assert ringing["voiceId"] == answered["voiceId"] == voice_id and ringing["type"] == 3
    assert ringing["callee"] == done["callee"] and answered["displayNum"] == done["displayNum"]
    assert_report_is_the_record(report, done)


async def test_whether_any_app_opted_in_to_live_events_is_read_at_most_once_a_recheck(
    live: Platform, api: Api, receiver: Receiver
) -> None:
    now = [0.0]
    unused = Outbox(lambda *_: {}, lambda *_: {}, 0.0, lambda: None)  # this test writes no event
    watcher = LiveEvents(live.sessions, unused, recheck=1.0, clock=lambda: now[0])
    assert await watcher.anyone_opted_in() is False
    # chosen elsewhere (another node, the CLI): this watcher knows it within a recheck
    await live.push_config.set_push(api.customer.app_id, receiver.url, ["report", "ringing"])
    assert await watcher.anyone_opted_in() is False
    now[0] = 1.0
    assert await watcher.anyone_opted_in() is True
    await live.push_config.set_events(api.customer.app_id, ["report"])
    assert await watcher.anyone_opted_in() is True
    watcher.invalidate()
    assert await watcher.anyone_opted_in() is False


async def test_an_opt_in_through_this_node_takes_effect_at_once(
    live: Platform, api: Api, receiver: Receiver
) -> None:
    live.live_events.recheck = 3600.0  # what it read is kept: only the service's change refreshes it
    assert await live.live_events.anyone_opted_in() is False
    await live.push_config.set_push(api.customer.app_id, receiver.url, ["report", "answered"])
    assert await live.live_events.anyone_opted_in() is True
    await live.push_config.set_events(api.customer.app_id, ["report"])
    assert await live.live_events.anyone_opted_in() is False
