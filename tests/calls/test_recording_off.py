"""`record_calls = false`: an answered call is carried and billed as usual, but nothing is recorded
(recordingFileId null, no spool or mp3 on disk)."""

from __future__ import annotations

import pytest

from sipline.bootstrap import Platform
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"record_calls": False}


async def test_an_answered_call_is_not_recorded(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    _phone, record = await phone_of()
    answer = await send(api, record, UK + "9001")
    done = await finished(api, answer["data"])
    assert done["terminationCode"] == "200" and int(done["callDuration"]) >= 1
    assert done["recordingFileId"] is None
    recordings = live.settings.effective_recording_dir
    assert not recordings.exists() or not any(path.is_file() for path in recordings.rglob("*"))
