"""A call's progress, read from its record as `call --wait` polls it.

The record has no times of its own for the phone leg, so two stages are read from what follows them:
the platform rings the phone as soon as sendSip accepts the call (submitTime), and it calls the callee
only once the phone has answered (callTime). A stage the call skipped (a callee that is busy without
ringing first) is not shown; stages that came between two polls are shown together, in order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sipline.client import CallRecord


@dataclass(frozen=True)
class Stage:
    reached_at: Callable[[CallRecord], str | None]
    describe: Callable[[CallRecord], str]


def _phone_ringing(record: CallRecord) -> str:
    return f"phone {record.phone_name} ringing" if record.phone_name else "phone ringing"


def _hung_up(record: CallRecord) -> str:
    talked = f" after {record.call_duration} s" if record.answer_time is not None else ""
    reason = " ".join(part for part in (record.termination_code, record.termination_reason) if part)
    return f"hung up{talked}: {reason}" if reason else f"hung up{talked}"


STAGES = (
    Stage(lambda r: r.submit_time, _phone_ringing),
    Stage(lambda r: r.call_time, lambda r: f"phone answered; calling {r.callee}"),
    Stage(lambda r: r.ringing_time, lambda r: f"{r.callee} ringing"),
    Stage(lambda r: r.answer_time, lambda r: f"{r.callee} answered"),
    Stage(lambda r: r.hangup_time, _hung_up),
)


def _clock(iso_time: str) -> str:
    """The local time of day of an API time ("2026-12-01T20:41:07+00:00" -> "21:41:07" in CET)."""
    try:
        return datetime.fromisoformat(iso_time).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso_time


class Progress:
    """Turns successive records of one call into the lines of the stages not shown yet."""

    def __init__(self) -> None:
        self._shown: set[int] = set()

    def new_lines(self, record: CallRecord) -> list[str]:
        lines = []
        for index, stage in enumerate(STAGES):
            at = stage.reached_at(record)
            if at is not None and index not in self._shown:
                self._shown.add(index)
                lines.append(f"{_clock(at)}  {stage.describe(record)}")
        return lines
