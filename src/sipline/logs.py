"""Log formats: text for a terminal, JSON (one object a line) for a log pipeline; both carry the voiceId.

The voiceId of the call a line is about comes from a context variable, set for the call's tasks
(sendSip's request and the B2BUA task, see calls/send_sip.py): every line logged while handling a
call carries it without each log call passing it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import datetime
from typing import TextIO

LOG_FORMATS = ("text", "json")

voice_id: ContextVar[str | None] = ContextVar("voice_id", default=None)


class _VoiceIdFilter(logging.Filter):
    """Stamps each record with the voiceId of the call being handled (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.voice_id = voice_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with `[voiceId]` before the message during a call."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(call)s%(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        call = getattr(record, "voice_id", None)
        record.call = f"[{call}] " if call is not None else ""
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601 with offset), level, logger, message, voiceId, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        call = getattr(record, "voice_id", None)
        if call is not None:
            entry["voiceId"] = call
        fields = getattr(record, "fields", None)  # structured extras, e.g. the access log's
        if isinstance(fields, dict):
            entry.update((key, value) for key, value in fields.items() if key not in entry)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``log_format`` ("text" or "json") to ``stream`` (default stderr)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.addFilter(_VoiceIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler
