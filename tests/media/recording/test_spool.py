"""After a crash: the spool's recordings are found again and encode up to their last flush."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sipline.media.port import RawRecording
from sipline.media.recording.encode import encode_mp3
from sipline.media.recording.layout import METADATA_FILE
from sipline.media.recording.spool import discard, interrupted
from tests.media.recording.audio import decode_mp3, dominant, g711_packets, tone
from tests.media.recording.conftest import STARTED_AT, Rig

CRASHING_CALL = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from sipline.media.port import Leg
    from sipline.media.recording.recorder import Recorder

    spool, recording_id, payloads = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
    recorder = Recorder(spool, recording_id, started_at=datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    for i, payload in enumerate(payloads):
        recorder.audio(Leg.AGENT, "PCMU", 7, 160 * i, bytes.fromhex(payload))
        recorder.audio(Leg.CALLEE, "PCMA", 8, 40_000 + 160 * i, bytes.fromhex(payload))
        if i == 99:
            recorder.flush()  # 2 s are on disk; the next second is not yet
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_recording_killed_mid_call_is_found_and_encodes_up_to_its_last_flush(tmp_path: Path) -> None:
    spool, recording_id = tmp_path / "spool", str(uuid.uuid4())
    payloads = g711_packets(tone(1000, 3.0), "PCMU")
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CALL, str(spool), recording_id, ",".join(p.hex() for p in payloads)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    (raw,) = interrupted(spool)
    assert raw.recording_id == recording_id
    assert raw.started_at == STARTED_AT and raw.sample_rate == 8000
    encoded = encode_mp3(raw, tmp_path / f"{recording_id}.mp3")
    assert encoded.duration_seconds == pytest.approx(2.0, abs=0.01)  # anchored by the real clock
    decoded = decode_mp3(tmp_path / f"{recording_id}.mp3")
    assert abs(decoded.duration - 2.0) < 1.0
    assert dominant(decoded.left[4000:12000], [400, 1000, 2000], 8000) == 1000

    discard(raw)
    assert interrupted(spool) == []
    discard(raw)  # twice is harmless


def test_unreadable_spool_entries_are_skipped_and_left_alone(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    good = rig.recorder()
    good_raw = good.close()
    rig.spool.joinpath("notes.txt").write_text("not a recording")
    broken = {
        "garbage": b"\x00{not json",
        "array": b"[1, 2]",
        "other-id": json.dumps({"recording_id": str(uuid.uuid4()), "sample_rate": 8000}).encode(),
        "rate": None,  # filled below: its own id, an impossible sample rate
        "naive-time": None,  # filled below: a start time without a zone
    }
    for name in broken:
        recording_id = str(uuid.uuid4())
        directory = rig.spool / recording_id
        directory.mkdir()
        if name == "rate":
            content = {
                "recording_id": recording_id,
                "sample_rate": 10**12,
                "started_at": STARTED_AT.isoformat(),
            }
            broken[name] = json.dumps(content).encode()
        if name == "naive-time":
            content = {"recording_id": recording_id, "sample_rate": 8000, "started_at": "2026-12-02T01:00:00"}
            broken[name] = json.dumps(content).encode()
        directory.joinpath(METADATA_FILE).write_bytes(broken[name] or b"")
    (rig.spool / str(uuid.uuid4())).mkdir()  # no metadata at all

    assert interrupted(rig.spool) == [good_raw]
    assert caplog.text.count("skipping") == len(broken) + 1
    assert len(list(rig.spool.iterdir())) == len(broken) + 3  # nothing removed


def test_an_absent_spool_has_nothing_interrupted(tmp_path: Path) -> None:
    assert interrupted(tmp_path / "never-created") == []


def test_discard_removes_only_a_recordings_own_directory(rig: Rig, tmp_path: Path) -> None:
    raw = rig.recorder().close()
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    for forged in (
        RawRecording(raw.recording_id, elsewhere, raw.left, raw.right, 8000, STARTED_AT),
        RawRecording("..", rig.spool / "..", raw.left, raw.right, 8000, STARTED_AT),
    ):
        with pytest.raises(ValueError):
            discard(forged)
    assert elsewhere.is_dir() and raw.directory.is_dir()
    discard(raw)
    assert not raw.directory.exists() and rig.spool.is_dir()


@pytest.mark.parametrize("bad_id", ["../../etc", "", "1B4E28BA-2FA1-11D2-883F-0016D3CCA427", "x" * 10_000])
def test_a_recording_id_must_be_a_canonical_uuid(rig: Rig, bad_id: str) -> None:
    with pytest.raises(ValueError):
        rig.recorder(bad_id)
    assert not rig.spool.exists() or os.listdir(rig.spool) == []
