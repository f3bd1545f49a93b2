"""The time windows of record queries: ISO 8601 instants with an offset, at most 31 days apart."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.status import Status

MAX_WINDOW = timedelta(days=31)


def parse_instant(value: str, field: str) -> datetime:
    """`2022-01-01T00:00:00+08:00` (or `...Z`); a time without an offset is ambiguous and refused."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise parameter_error(f"{field} must be an ISO 8601 time such as 2022-01-01T00:00:00+08:00") from None
    if parsed.tzinfo is None:
        raise parameter_error(f"{field} must include a UTC offset, e.g. 2022-01-01T00:00:00+08:00")
    try:
        parsed.astimezone(UTC)  # stored and compared in UTC: 9999-12-31T23:00:00-08:00 has no UTC time
    except OverflowError:
        raise parameter_error(f"{field} is out of range: its UTC time is not within years 1-9999") from None
    return parsed


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime

    @property
    def display_zone(self) -> tzinfo:
        """Records are shown in the offset the client asked in (the seeds show +08:00 throughout)."""
        return self.start.tzinfo or UTC


def time_window(str_time: str, end_time: str, now: datetime, retention: timedelta) -> TimeWindow:
    start, end = parse_instant(str_time, "strTime"), parse_instant(end_time, "endTime")
    if end < start:
        raise ApiError(Status.OUT_OF_TIME_RANGE, "endTime is before strTime")
    if end - start > MAX_WINDOW:
        raise ApiError(Status.OUT_OF_TIME_RANGE, "strTime and endTime are more than 31 days apart")
    if start < now - retention:
        raise ApiError(
            Status.OUT_OF_TIME_RANGE,
            f"strTime is before the {retention.days}-day retention period of records",
        )
    return TimeWindow(start, end)
