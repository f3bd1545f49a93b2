"""Every answered call is recorded, and the recordings service hears of it: when it starts (with
the recordingFileId) and, once the call is over, with the files the relay wrote."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sipline.bootstrap import Platform
from sipline.domain import calls
from sipline.media.port import RawRecording
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api


class HeardRecordings:
    """A RecordingSink that keeps what it is told, in order (the recordings service's interface)."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, str]] = []  # (what, voice_id, recording_id)
        self.raw: list[RawRecording] = []
        self.finished_once = asyncio.Event()

    async def started(self, voice_id: str, recording_id: str) -> None:
        self.heard.append(("started", voice_id, recording_id))

    async def finished(self, voice_id: str, raw: RawRecording) -> None:
        self.heard.append(("finished", voice_id, raw.recording_id))
        self.raw.append(raw)
        self.finished_once.set()


@pytest.fixture
def sink(live: Platform) -> HeardRecordings:
    heard = HeardRecordings()
    live.calls.recordings = heard
    return heard


async def test_an_answered_call_is_recorded_and_handed_over_when_it_ends(
    live: Platform, api: Api, phone_of: PhoneFactory, sink: HeardRecordings
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9002"))["data"]  # talks 2 s (the peers send a little RTP)
    done = await finished(api, voice_id)
    assert done["terminationReason"] == calls.CALLEE_HUNG_UP
    await asyncio.wait_for(sink.finished_once.wait(), 5)
    (started, ended) = sink.heard
    recording_id = started[2]
    assert started == ("started", voice_id, recording_id) and ended == ("finished", voice_id, recording_id)
    assert str(uuid.UUID(recording_id)) == recording_id
    (raw,) = sink.raw
    assert raw.left.exists() and raw.right.exists() and raw.directory.exists()
    assert live.media.sessions() == 0


async def test_a_call_never_answered_is_not_recorded(
    api: Api, phone_of: PhoneFactory, sink: HeardRecordings
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "0486"))["data"]  # busy
    assert (await finished(api, voice_id))["terminationCode"] == "486"
    await asyncio.sleep(0.2)
    assert sink.heard == []
