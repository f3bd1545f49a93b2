"""Calls dialled on a handset, SIPp as the phone: it registers, dials, answers the 407, talks, hangs up.
The sandbox carrier is the trunk. What the phone sees, and the call's record as the API shows it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.domain import calls
from sipline.store.models import CallRecord
from tests.calls.conftest import finished
from tests.conftest import Api
from tests.sip.conftest import SIPP, need, run_sipp, sipp_messages, sipp_time

pytestmark = pytest.mark.interop

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
TALKS_UNTIL_HUNG_UP = "+44 20 7946 9000"  # the sandbox answers and waits for the caller's BYE


async def phones(api: Api) -> list[dict[str, Any]]:
    assert (await api.add(quantity=2))["status"] == "0"
    listing = await api.query()
    records: list[dict[str, Any]] = listing["data"]["records"]  # type: ignore[index]
    return records


async def only_voice_id(platform: Platform) -> str:
    """The voiceId of the one call the platform has a record of."""
    async with platform.sessions() as session:
        voice_ids = (await session.scalars(select(CallRecord.voice_id))).all()
    assert len(voice_ids) == 1, voice_ids
    return voice_ids[0]


def handset_csv(path: Path, record: dict[str, Any], dialled: str) -> Path:
    user, password = record["account"], record["password"]
    path.write_text(
        f"SEQUENTIAL\n{user};{password};[authentication username={user} password={password}];{dialled}\n"
    )
    return path


async def dial(platform: Platform, tmp_path: Path, record: dict[str, Any], dialled: str) -> list[Any]:
    need(SIPP)
    csv = handset_csv(tmp_path / "phone.csv", record, dialled.replace(" ", ""))
    trace = tmp_path / "phone.log"
    args = [
        f"127.0.0.1:{platform.sip.port}", "-sf", str(SCENARIOS / "handset_dial.xml"), "-inf", str(csv),
        "-i", "127.0.0.1", "-m", "1", "-trace_msg", "-message_file", str(trace),
    ]  # fmt: skip
    result = await run_sipp(args, tmp_path, 20)
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    return sipp_messages(trace)


async def test_an_answered_handset_call_is_rated_and_recorded_like_send_sip(
    live: Platform, api: Api, tmp_path: Path
) -> None:
    caller, _other = await phones(api)
    messages = await dial(live, tmp_path, caller, TALKS_UNTIL_HUNG_UP)

    done = await finished(api, await only_voice_id(live))
    assert done["callOrigin"] == "handset"
    assert done["callee"] == "442079469000"  # the dial plan's reading of "+44 20 7946 9000"
    assert done["displayNum"] == caller["displayNum"] and done["phoneName"] == caller["phoneName"]
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.PHONE_HUNG_UP
    assert done["code"].startswith("United Kingdom")
    assert done["rate"] == "0.01" and done["billPeriod"] == "60+60" and done["cost"] == "0.01"
    # The record's times are the SIP messages' (whole seconds on the wire)
    invited = sipp_time(messages, sent=True, starts="INVITE")
    answered = sipp_time(messages, sent=False, starts="SIP/2.0 200 OK")
    hung_up = sipp_time(messages, sent=True, starts="BYE")
    second = timedelta(seconds=1)
    local = invited.astimezone().tzinfo
    for key, moment in (("submitTime", invited), ("answerTime", answered), ("hangupTime", hung_up)):
        shown = datetime.fromisoformat(done[key])
        assert abs(shown - moment.replace(tzinfo=local)) <= second, (key, shown, moment)
    assert done["callDuration"] in (0, 1)
    # Challenged with 407 first, as REGISTER is with 401; early media (the ringback) before the 200
    answers = [m.first_line.split()[1] for m in messages if not m.sent and " 100 " not in m.first_line]
    assert answers == ["401", "200", "407", "183", "200", "200"], answers
