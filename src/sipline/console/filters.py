"""What list pages' filter forms share: ISO 8601 instants, bounded time windows, bounded counts.
Each raises ValueError with a message for the page."""

from datetime import UTC, datetime, timedelta, tzinfo

from sipline.console.text import _
from sipline.domain.time_window import MAX_WINDOW


def instant(text: str, default: datetime, zone: tzinfo = UTC) -> datetime:
    """An ISO 8601 time (a form's time without an offset is read in ``zone``, the user's), or
    ``default`` when empty."""
    if not text.strip():
        return default
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("{time!r} is not an ISO 8601 time").format(time=text.strip())) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def window(
    start_text: str, end_text: str, default_end: datetime, length: timedelta, zone: tzinfo = UTC
) -> tuple[datetime, datetime]:
    """The window a form asks for: ``length`` back from its end by default, at most 31 days long."""
    end = instant(end_text, default_end, zone)
    start = instant(start_text, end - length, zone)
    if end < start:
        raise ValueError(_("the window ends before it starts"))
    if end - start > MAX_WINDOW:
        raise ValueError(_("the window is longer than 31 days"))
    return start, end


def whole_number(text: str, field: str, high: int) -> int | None:
    """A count 0-``high`` (at most 9 digits), or None when empty."""
    if not text.strip():
        return None
    if not (text.isascii() and text.strip().isdigit() and len(text.strip()) <= 9 and int(text) <= high):
        raise ValueError(_("{field} must be a whole number 0-{high}").format(field=field, high=high))
    return int(text)
