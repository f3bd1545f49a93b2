"""`call --wait`'s stages from successive records of one call: each shown once, in order, skipped ones not."""

from dataclasses import replace
from datetime import datetime

from sipline.cli.progress import Progress
from sipline.client import CallRecord

SUBMITTED = CallRecord.from_wire(
    {
        "voiceId": "2612011200000000001",
        "phoneName": "desk-1",
        "callee": "442079469001",
        "displayNum": "1008122211",
        "submitTime": "2026-12-01T12:00:00+00:00",
        "callDuration": 0,
        "chargedDuration": 0,
    }
)


def clock_free(lines: list[str]) -> list[str]:
    return [line.split("  ", 1)[1] for line in lines]


def test_each_stage_once_in_order_as_the_record_fills() -> None:
    progress = Progress()
    phone_answered = replace(SUBMITTED, call_time="2026-12-01T12:00:02+00:00")
    answered = replace(
        phone_answered, ringing_time="2026-12-01T12:00:03+00:00", answer_time="2026-12-01T12:00:05+00:00"
    )
    ended = replace(
        answered,
        hangup_time="2026-12-01T12:00:10+00:00",
        call_duration=5,
        termination_code="200",
        termination_reason="the callee hung up",
    )
    assert clock_free(progress.new_lines(SUBMITTED)) == ["phone desk-1 ringing"]
    assert progress.new_lines(SUBMITTED) == []
    assert clock_free(progress.new_lines(phone_answered)) == ["phone answered; calling 442079469001"]
    # two stages between two polls: both, in order
    assert clock_free(progress.new_lines(answered)) == ["442079469001 ringing", "442079469001 answered"]
    assert clock_free(progress.new_lines(ended)) == ["hung up after 5 s: 200 the callee hung up"]
    assert progress.new_lines(ended) == []


def test_stages_the_call_skipped_are_not_shown() -> None:
    busy = replace(
        SUBMITTED,
        call_time="2026-12-01T12:00:02+00:00",
        hangup_time="2026-12-01T12:00:02+00:00",
        termination_code="486",
        termination_reason="Busy Here",
    )
    assert clock_free(Progress().new_lines(busy)) == [
        "phone desk-1 ringing",
        "phone answered; calling 442079469001",
        "hung up: 486 Busy Here",
    ]


def test_lines_carry_the_local_time_of_the_stage() -> None:
    (line,) = Progress().new_lines(SUBMITTED)
    expected = datetime.fromisoformat("2026-12-01T12:00:00+00:00").astimezone().strftime("%H:%M:%S")
    assert line == f"{expected}  phone desk-1 ringing"
