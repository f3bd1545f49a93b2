"""The optional HTTP access log: one line per request, method, path (never the query), status, latency."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from sipline.logs import log_handler


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"access_log": True}


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = log_handler("json", buffer)
    logger = logging.getLogger("sipline.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_one_line_per_request(http: httpx.AsyncClient, access_lines: io.StringIO) -> None:
    await http.post("/voice/sipQuery?secret=xyz", content=b"{}")
    await http.get("/voice/forged%0A2026-12-01 INFO sipline: fake line")
    first, second = (json.loads(line) for line in access_lines.getvalue().splitlines())
    assert first["message"].startswith("POST /voice/sipQuery 200 ")
    assert (first["method"], first["path"], first["status"], first["client"]) == (
        "POST",
        "/voice/sipQuery",
        200,
        "127.0.0.1",
    )
    assert "xyz" not in access_lines.getvalue()
    assert isinstance(first["latencyMs"], float) and first["latencyMs"] >= 0
    # A newline in the path is escaped: it cannot start a forged line in the text log.
    assert second["status"] == 404 and second["path"] == "/voice/forged\\n2026-12-01 INFO sipline: fake line"
