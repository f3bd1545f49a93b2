"""A call's tones through the recorder and the mp3 encoder, checked by an independent decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipline.media.port import Leg, RawRecording
from sipline.media.recording.encode import encode_mp3
from tests.media.recording.audio import (
    Decoded,
    decode_mp3,
    dominant,
    g711_packets,
    g722_packets,
    power_at,
    rms,
    tone,
)
from tests.media.recording.conftest import PACKET_SECONDS, Rig

CANDIDATES = [400.0, 1000.0, 2000.0, 3000.0]


def record_call(
    rig: Rig, agent: list[bytes], agent_codec: str, callee: list[bytes], callee_codec: str
) -> RawRecording:
    """Both legs sending at once, 20 ms apart, the relay flushing every second."""
    recorder = rig.recorder()
    for i in range(max(len(agent), len(callee))):
        rig.clock.now += PACKET_SECONDS
        if i < len(agent):
            recorder.audio(Leg.AGENT, agent_codec, 0xA, 1000 + 160 * i, agent[i])
        if i < len(callee):
            recorder.audio(Leg.CALLEE, callee_codec, 0xB, 900_000 + 160 * i, callee[i])
        if i % 50 == 49:
            recorder.flush()
    return recorder.close()


def middle(samples: list[int], sample_rate: int, seconds: float = 2.0) -> list[int]:
    start = len(samples) // 2
    return samples[start : start + int(seconds * sample_rate)]


def assert_tone(samples: list[int], frequency: float, sample_rate: int, candidates: list[float]) -> None:
    piece = middle(samples, sample_rate)
    assert dominant(piece, candidates, sample_rate) == frequency
    others = max(power_at(piece, f, sample_rate) for f in candidates if f != frequency)
    assert power_at(piece, frequency, sample_rate) > 100 * others


def test_agent_left_and_callee_right_survive_the_mp3(rig: Rig, tmp_path: Path) -> None:
    seconds = 12.0  # more than one encoding chunk
    raw = record_call(
        rig,
        g711_packets(tone(1000, seconds), "PCMU"),
        "PCMU",
        g711_packets(tone(400, seconds), "PCMA"),
        "PCMA",
    )
    encoded = encode_mp3(raw, tmp_path / "call.mp3")
    decoded = decode_mp3(tmp_path / "call.mp3")

    assert encoded.duration_seconds == pytest.approx(seconds, abs=0.05)
    assert encoded.size_bytes == (tmp_path / "call.mp3").stat().st_size
    assert decoded.sample_rate == 8000
    assert abs(decoded.duration - seconds) < 1.0
    assert_tone(decoded.left, 1000, 8000, CANDIDATES)
    assert_tone(decoded.right, 400, 8000, CANDIDATES)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_silent_leg_is_a_silent_channel_and_the_longer_leg_sets_the_duration(
    rig: Rig, tmp_path: Path
) -> None:
    raw = record_call(rig, g711_packets(tone(1000, 3.0), "PCMU"), "PCMU", [], "PCMU")
    assert not raw.right.exists()
    encoded = encode_mp3(raw, tmp_path / "one-leg.mp3")
    decoded = decode_mp3(tmp_path / "one-leg.mp3")
    assert encoded.duration_seconds == pytest.approx(3.0, abs=0.05)
    assert rms(decoded.right) < 50 < 1000 < rms(middle(decoded.left, 8000))

    shorter = record_call(
        rig, g711_packets(tone(1000, 2.0), "PCMU"), "PCMU", g711_packets(tone(400, 5.0), "PCMU"), "PCMU"
    )
    encoded = encode_mp3(shorter, tmp_path / "shorter.mp3")
    decoded = decode_mp3(tmp_path / "shorter.mp3")
    assert encoded.duration_seconds == pytest.approx(5.0, abs=0.05)
    assert abs(decoded.duration - 5.0) < 1.0
    assert rms(decoded.left[-8000:]) < 50  # the agent's last 3 s are silence


def test_g722_is_recorded_wideband(rig: Rig, tmp_path: Path) -> None:
    """A 5 kHz tone only a 16 kHz recording can hold, from ffmpeg's G.722 encoder; the G.711 leg
    of the same call joins at 16 kHz."""
    seconds = 4.0
    agent = g722_packets(tone(5000, seconds, sample_rate=16000), tmp_path)
    raw = record_call(rig, agent, "G722", g711_packets(tone(400, seconds), "PCMU"), "PCMU")
    assert raw.sample_rate == 16000
    encoded = encode_mp3(raw, tmp_path / "wideband.mp3")
    decoded: Decoded = decode_mp3(tmp_path / "wideband.mp3")

    assert encoded.duration_seconds == pytest.approx(seconds, abs=0.05)
    assert decoded.sample_rate == 16000
    assert abs(decoded.duration - seconds) < 1.0
    wideband = [400.0, 1000.0, 3000.0, 5000.0, 6000.0]
    assert_tone(decoded.left, 5000, 16000, wideband)
    assert_tone(decoded.right, 400, 16000, wideband)


def test_a_g722_leg_in_a_narrowband_call_is_recorded_at_8_khz(rig: Rig, tmp_path: Path) -> None:
    agent = g722_packets(tone(1000, 3.0, sample_rate=16000), tmp_path)
    recorder = rig.recorder()
    recorder.audio(Leg.CALLEE, "PCMU", 1, 0, g711_packets(tone(400, 0.02), "PCMU")[0])  # G.711 first
    for i, payload in enumerate(agent):
        rig.clock.now += PACKET_SECONDS
        recorder.audio(Leg.AGENT, "G722", 2, 160 * i, payload)
    raw = recorder.close()
    assert raw.sample_rate == 8000
    assert raw.left.stat().st_size == pytest.approx(3.0 * 8000 * 2, abs=400)
    encode_mp3(raw, tmp_path / "mixed.mp3")
    assert_tone(decode_mp3(tmp_path / "mixed.mp3").left, 1000, 8000, CANDIDATES)


def test_the_encoder_replaces_the_destination_atomically_and_rejects_bad_bit_rates(
    rig: Rig, tmp_path: Path
) -> None:
    raw = record_call(rig, g711_packets(tone(1000, 1.0), "PCMU"), "PCMU", [], "PCMU")
    destination = tmp_path / "out" / "call.mp3"
    destination.parent.mkdir()
    destination.write_bytes(b"an older attempt")
    encode_mp3(raw, destination, bitrate_kbps=16)
    assert abs(decode_mp3(destination).duration - 1.0) < 0.5  # the new recording, whole
    destination.with_suffix(".wav").unlink()
    assert [p.name for p in destination.parent.iterdir()] == ["call.mp3"]

    for bad in (0, 7, 161, 10**9):
        with pytest.raises(ValueError):
            encode_mp3(raw, destination, bitrate_kbps=bad)
    with pytest.raises(OSError):
        encode_mp3(raw, tmp_path / "missing-dir" / "call.mp3")
    assert [p.name for p in destination.parent.iterdir()] == ["call.mp3"]


def test_a_recording_without_audio_encodes_to_zero_seconds(rig: Rig, tmp_path: Path) -> None:
    raw = rig.recorder().close()
    encoded = encode_mp3(raw, tmp_path / "empty.mp3")
    assert encoded.duration_seconds == 0.0
    decoded = decode_mp3(tmp_path / "empty.mp3")  # a valid mp3: a moment of silence
    assert decoded.duration < 0.5 and rms(decoded.left) == rms(decoded.right) == 0


def test_a_torn_last_sample_is_ignored(rig: Rig, tmp_path: Path) -> None:
    raw = record_call(rig, g711_packets(tone(1000, 1.0), "PCMU"), "PCMU", [], "PCMU")
    with raw.left.open("ab") as file:
        file.write(b"\x01")  # a crash in the middle of a write
    assert encode_mp3(raw, tmp_path / "torn.mp3").duration_seconds == pytest.approx(1.0, abs=0.05)
