"""Disk full and write errors end the recording, never the call: reported once, nothing raised,
what was written before stays readable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sipline.media.port import Leg
from sipline.media.recording.encode import encode_mp3
from sipline.media.recording.layout import LEFT_FILE
from sipline.media.recording.spool import interrupted
from tests.media.recording.audio import g711_packets, tone
from tests.media.recording.conftest import Rig


def test_a_full_disk_stops_the_recording_once_and_quietly(rig: Rig) -> None:
    recording_id = str(uuid.uuid4())
    recorder = rig.recorder(recording_id)
    payloads = g711_packets(tone(1000, 2.0), "PCMU")
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[:50])
    rig.send(recorder, Leg.CALLEE, "PCMU", payloads[:50], first_timestamp=77)
    (rig.spool / recording_id / LEFT_FILE).symlink_to("/dev/full")  # every write to it: ENOSPC

    recorder.flush()
    assert len(rig.failures) == 1 and "No space left" in rig.failures[0]
    assert recorder.failed
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[50:])  # the call goes on, unrecorded
    recorder.flush()
    raw = recorder.close()
    assert len(rig.failures) == 1
    assert raw.recording_id == recording_id and not raw.right.exists()


def test_a_spool_it_cannot_write_fails_at_the_start_without_raising(rig: Rig) -> None:
    rig.spool.parent.mkdir(parents=True, exist_ok=True)
    rig.spool.write_text("a file where the spool directory should be")
    recorder = rig.recorder()
    assert len(rig.failures) == 1 and "could not start" in rig.failures[0]
    recorder.audio(Leg.AGENT, "PCMU", 1, 0, b"\x10" * 160)
    recorder.flush()
    raw = recorder.close()
    assert len(rig.failures) == 1 and not raw.left.exists()


def test_a_failing_callback_does_not_reach_the_relay(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.spool.parent.mkdir(parents=True, exist_ok=True)
    rig.spool.write_text("not a directory")

    def explode(reason: str) -> None:
        raise RuntimeError(reason)

    rig.recorder(on_failure=explode).close()
    assert "on_failure raised" in caplog.text


FILE_SIZE_LIMIT = 20_000  # bytes: 1.25 s of 8 kHz audio

WRITER = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from sipline.media.port import Leg
    from sipline.media.recording.recorder import Recorder

    spool, recording_id, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, writes fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    failures = []
    recorder = Recorder(spool, recording_id, started_at=datetime.now(UTC), on_failure=failures.append)
    payload = bytes.fromhex(sys.argv[4])
    for i in range(150):  # 3 s, flushed every second as the relay does
        recorder.audio(Leg.AGENT, "PCMU", 7, 160 * i, payload)
        if i % 50 == 49:
            recorder.flush()
    raw = recorder.close()
    print(json.dumps({"failures": failures, "left": str(raw.left)}))
    """
)


def test_a_file_size_limit_stops_recording_and_keeps_what_was_written(tmp_path: Path) -> None:
    """A real EFBIG from the kernel (RLIMIT_FSIZE), in a child process so the limit is its own."""
    spool, recording_id = tmp_path / "spool", str(uuid.uuid4())
    payload = g711_packets(tone(1000, 0.02), "PCMU")[0]
    child = subprocess.run(
        [sys.executable, "-c", WRITER, str(spool), recording_id, str(FILE_SIZE_LIMIT), payload.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert len(report["failures"]) == 1 and "too large" in report["failures"][0]
    assert "recording write failed" in child.stderr  # logged once
    assert child.stderr.count("stopped:") == 1
    assert Path(report["left"]).stat().st_size == FILE_SIZE_LIMIT

    (raw,) = interrupted(spool)  # what was written is still a recording
    encoded = encode_mp3(raw, tmp_path / "partial.mp3")
    assert encoded.duration_seconds == FILE_SIZE_LIMIT / 2 / 8000
