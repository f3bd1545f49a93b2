"""A real `sipline serve` killed mid-recording: its next start encodes what the spool kept, and the
customer fetches the mp3 with `sipline records recording-url --download`."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sipline.store.database import create_engine, session_factory
from tests.cli.conftest import new_customer
from tests.e2e.conftest import Served
from tests.recordings import decoded_seconds, spooled
from tests.records import add_open_record


async def crashed_call(
    database_url: str, api_key: str, app_id: str, recording_id: str, started: datetime
) -> None:
    """The record a crash leaves: answered, being recorded, never ended."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await add_open_record(
                session,
                api_key,
                app_id,
                voice_id="2612020100000000001",
                submit_time=started - timedelta(seconds=10),
                answer_time=started,
                recording_file_id=recording_id,
                recording_status="recording",
                recording_started_at=started,
            )
    finally:
        await engine.dispose()


def test_a_recording_cut_by_a_crash_is_encoded_at_the_next_start(
    served: Served, database_url: str, tmp_path: Path
) -> None:
    customer = new_customer(served)
    api_key, app_id = customer.env["SIPLINE_API_KEY"], customer.env["SIPLINE_APP_ID"]
    served.stop()
    started = datetime.now(UTC) - timedelta(minutes=1)
    raw = spooled(served.data_dir / "recordings" / "spool", seconds=3.0, started_at=started)
    asyncio.run(crashed_call(database_url, api_key, app_id, raw.recording_id, started))

    served.start()
    customer.env["SIPLINE_BASE_URL"] = served.base_url
    deadline = time.monotonic() + 20
    while (result := customer.run("records", "recording-url", raw.recording_id)).exit_code != 0:
        assert "[-21]" in result.output, result.output  # not ready: encoding in the background
        assert time.monotonic() < deadline, result.output
        time.sleep(0.2)

    saved = tmp_path / "call.mp3"
    link = customer.json("records", "recording-url", raw.recording_id, "--download", str(saved))
    assert link["url"].startswith(f"{served.base_url}/recordings/{raw.recording_id}.mp3?expires=")
    stored = served.data_dir / "recordings" / f"{started:%Y/%m/%d}" / f"{raw.recording_id}.mp3"
    assert saved.read_bytes() == stored.read_bytes()
    assert abs(decoded_seconds(saved, tmp_path) - 3.0) < 0.2
    assert not raw.directory.exists()

    unknown = customer.fails("records", "recording-url", "3e2f0781-9642-40ec-8bbe-df35abec72d4")
    assert "[-22]" in unknown.output
