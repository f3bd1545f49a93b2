"""The two log formats as an operator's pipeline reads them."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from sipline.logs import log_handler, voice_id

VOICE_ID = "2612012042521881791"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, dict[str, io.StringIO]]]:
    """A logger writing each format to its own buffer."""
    logger = logging.getLogger("sipline.test-logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    buffers = {fmt: io.StringIO() for fmt in ("text", "json")}
    handlers = [log_handler(fmt, buffer) for fmt, buffer in buffers.items()]
    for handler in handlers:
        logger.addHandler(handler)
    yield logger, buffers
    for handler in handlers:
        logger.removeHandler(handler)


@contextmanager
def during_call() -> Iterator[None]:
    """What the call's task sees: its voiceId in the context."""
    token = voice_id.set(VOICE_ID)
    try:
        yield
    finally:
        voice_id.reset(token)


def test_json_lines_carry_time_level_logger_message_and_voice_id(
    logged: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, buffers = logged
    logger.info("before the call")
    with during_call():
        logger.warning("ringing %s", "the phone\nwith a newline")
    lines = buffers["json"].getvalue().splitlines()
    assert len(lines) == 2  # the newline in the message stays inside its line
    before, during = (json.loads(line) for line in lines)
    assert before.keys() == {"time", "level", "logger", "message"}
    assert during == {
        "time": during["time"],
        "level": "WARNING",
        "logger": "sipline.test-logs",
        "message": "ringing the phone\nwith a newline",
        "voiceId": VOICE_ID,
    }
    assert datetime.fromisoformat(during["time"]).utcoffset() is not None


def test_exceptions_are_a_field(logged: tuple[logging.Logger, dict[str, io.StringIO]]) -> None:
    logger, buffers = logged
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("it failed")
    entry = json.loads(buffers["json"].getvalue())
    assert entry["message"] == "it failed" and entry["level"] == "ERROR"
    assert entry["exception"].startswith("Traceback") and "ValueError: bad value" in entry["exception"]
    text = buffers["text"].getvalue()
    assert " ERROR sipline.test-logs: it failed\nTraceback" in text


def test_text_shows_the_voice_id_before_the_message(
    logged: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, buffers = logged
    logger.info("no call")
    with during_call():
        logger.info("call ended")
    first, second = buffers["text"].getvalue().splitlines()
    assert first.endswith(" INFO sipline.test-logs: no call")
    assert second.endswith(f" INFO sipline.test-logs: [{VOICE_ID}] call ended")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        log_handler("xml")
