"""The calls' domain events on the platform's stream: one call through the sandbox carrier, seen by a
subscriber in the order the record shows them, with the record's own times."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sipline.bootstrap import Platform
from sipline.events.domain import (
    CallAccepted,
    CalleeAnswered,
    CalleeRinging,
    CallEnded,
    CallEvent,
    PhoneAnswered,
    PhoneRinging,
    RecordingReady,
)
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api


async def test_a_call_raises_its_events_in_order_with_the_records_times(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    seen: list[CallEvent] = []
    ready = asyncio.Event()

    def subscriber(event: CallEvent) -> None:
        seen.append(event)
        if isinstance(event, RecordingReady):
            ready.set()

    def broken(event: CallEvent) -> None:
        raise RuntimeError("a subscriber's bug must not reach the call")

    live.events.subscribe(broken)
    live.events.subscribe(subscriber)
    _phone, record = await phone_of()
    answer = await send(api, record, UK + "9001")
    voice_id = answer["data"]
    done = await finished(api, voice_id)
    await asyncio.wait_for(ready.wait(), 15)

    kinds = [type(event) for event in seen]
    assert kinds == [
        CallAccepted,
        PhoneAnswered,  # the virtual phone answers without a 180
        CalleeRinging,
        CalleeAnswered,
        CallEnded,
        RecordingReady,
    ] or kinds == [
        CallAccepted,
        PhoneRinging,
        PhoneAnswered,
        CalleeRinging,
        CalleeAnswered,
        CallEnded,
        RecordingReady,
    ]
    assert {event.voice_id for event in seen} == {voice_id}
    by_kind = {type(event): event for event in seen}

    def second(key: str) -> datetime:
        return datetime.fromisoformat(done[key])

    assert by_kind[CallAccepted].at.replace(microsecond=0) == second("submitTime")
    assert by_kind[CalleeRinging].at.replace(microsecond=0) == second("ringingTime")
    assert by_kind[CalleeAnswered].at.replace(microsecond=0) == second("answerTime")
    ended = by_kind[CallEnded]
    assert isinstance(ended, CallEnded) and ended.at.replace(microsecond=0) == second("hangupTime")
    assert ended.termination.code == done["terminationCode"] == "200"
    recording = by_kind[RecordingReady]
    assert isinstance(recording, RecordingReady) and recording.recording_id == done["recordingFileId"]
