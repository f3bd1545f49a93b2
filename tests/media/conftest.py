"""An embedded media plane on 127.0.0.1 with a small port range of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipline.media.relay import EmbeddedMediaPlane
from tests.conftest import free_ports

RANGE = 40  # ports: 20 pairs, 10 sessions


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EmbeddedMediaPlane]:
    first = free_ports(RANGE)
    media = EmbeddedMediaPlane(
        "127.0.0.1", first, first + RANGE - 1, media_timeout=60, spool=tmp_path / "spool", tick_seconds=0.05
    )
    await media.start()
    yield media
    await media.stop()
