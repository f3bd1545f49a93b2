"""Each packet lands at the samples its RTP timestamp names: loss and reordering leave silence in
the right place, never shifted audio (the spool files read directly)."""

from __future__ import annotations

import random
from pathlib import Path

from sipline.media.port import Leg
from sipline.media.recording.pcm import audioop
from tests.media.recording.conftest import PACKET_SECONDS, Rig

PACKET_BYTES = 320  # 160 samples of 16-bit PCM
SILENCE = bytes(PACKET_BYTES)


def distinct_payloads(count: int) -> list[bytes]:
    """PCMU packets each of its own non-silent level, so a shifted packet shows."""
    return [bytes([0x10 + i % 0x60]) * 160 for i in range(count)]


def pcm_of(payload: bytes) -> bytes:
    return audioop.ulaw2lin(payload, 2)


def packets_in(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + PACKET_BYTES] for i in range(0, len(data), PACKET_BYTES)]


def test_lost_packets_leave_silence_exactly_where_they_were(rig: Rig) -> None:
    recorder = rig.recorder()
    payloads = distinct_payloads(50)
    lost = {10, 11, 12, 30}
    rig.send(recorder, Leg.AGENT, "PCMU", payloads, order=[i for i in range(50) if i not in lost])
    raw = recorder.close()

    written = packets_in(raw.left)
    assert len(written) == 50
    for i, packet in enumerate(written):
        assert packet == (SILENCE if i in lost else pcm_of(payloads[i])), f"packet {i}"
    assert not raw.right.exists()  # the callee never sent audio


def test_reordered_and_duplicated_packets_give_the_in_order_audio(rig: Rig) -> None:
    payloads = distinct_payloads(100)
    in_order = rig.recorder()
    rig.send(in_order, Leg.CALLEE, "PCMU", payloads)
    expected = in_order.close().right.read_bytes()

    rig.clock.now = 2000.0
    shuffled = rig.recorder()
    jitter = random.Random(7)
    # the network delays each packet by up to 300 ms (the first one, which anchors, by nothing),
    # and repeats a few, one of them much later
    arrival = {i: 2000.0 + i * PACKET_SECONDS + (jitter.uniform(0, 0.3) if i else 0) for i in range(100)}
    order = sorted(range(100), key=arrival.__getitem__)
    order[40:40] = [3, 3, 57]
    order.append(0)
    rig.send(shuffled, Leg.CALLEE, "PCMU", payloads, order=order, at=lambda i: arrival[i])
    assert order[:12] != sorted(order[:12])  # really out of order
    assert shuffled.close().right.read_bytes() == expected


def test_the_legs_line_up_by_when_their_audio_started(rig: Rig) -> None:
    recorder = rig.recorder()
    payloads = distinct_payloads(25)
    rig.clock.now += 0.5  # the callee answers half a second into the recording
    rig.send(recorder, Leg.CALLEE, "PCMU", payloads, first_timestamp=123_456)
    raw = recorder.close()

    written = packets_in(raw.right)
    assert written[:25] == [SILENCE] * 25  # 0.5 s = 25 packets of silence before it
    assert written[25] == pcm_of(payloads[0])


def test_timestamps_wrap_around_without_a_gap(rig: Rig) -> None:
    recorder = rig.recorder()
    payloads = distinct_payloads(20)
    rig.send(recorder, Leg.AGENT, "PCMU", payloads, first_timestamp=2**32 - 5 * 160)
    written = packets_in(recorder.close().left)
    assert written == [pcm_of(p) for p in payloads]


def test_a_new_ssrc_is_placed_by_the_wall_clock(rig: Rig) -> None:
    recorder = rig.recorder()
    first, second = distinct_payloads(30), distinct_payloads(60)[30:]
    rig.send(recorder, Leg.AGENT, "PCMU", first, ssrc=1, first_timestamp=1000)
    rig.clock.now += 0.4  # the sender restarts 20 packets later with a new stream, new clock base
    rig.send(recorder, Leg.AGENT, "PCMU", second, ssrc=2, first_timestamp=3_000_000_000)
    rig.clock.now += 0.005  # then, with some jitter, a straggler of the old stream (its packet 28)
    recorder.audio(Leg.AGENT, "PCMU", 1, 1000 + 28 * 160, b"\x55" * 160)
    rig.clock.now += 0.02  # and the new stream's next packet
    recorder.audio(Leg.AGENT, "PCMU", 2, 3_000_000_000 + 30 * 160, b"\x66" * 160)
    written = packets_in(recorder.close().left)

    assert written[:28] == [pcm_of(p) for p in first[:28]]
    assert written[28] == pcm_of(b"\x55" * 160)  # the straggler went to its own stream's place
    assert written[29] == pcm_of(first[29])
    # packet 29 arrived at 0.58 s, the new stream at 0.98 s: after 0.4 s of silence
    assert written[30:49] == [SILENCE] * 19
    assert written[49:79] == [pcm_of(p) for p in second]
    assert written[79:] == [pcm_of(b"\x66" * 160)]  # the new stream did not move either


def test_a_hostile_timestamp_jump_is_neither_a_huge_file_nor_shifts_the_stream(rig: Rig) -> None:
    recorder = rig.recorder()
    payloads = distinct_payloads(50)
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[:25])
    rig.clock.now += PACKET_SECONDS
    recorder.audio(Leg.AGENT, "PCMU", 0x1234, 5000 + 2**31 - 1, b"\x22" * 160)  # 3 days ahead
    recorder.audio(Leg.AGENT, "PCMU", 0x1234, 5000 - 10**9, b"\x22" * 160)  # and behind
    resumed = rig.clock.now + 0.007  # 7 ms of jitter: re-anchoring by the clock would show
    arrival = lambda i: resumed + i * PACKET_SECONDS  # noqa: E731
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[25:], first_timestamp=5000 + 25 * 160, at=arrival)
    raw = recorder.close()

    written = packets_in(raw.left)
    assert raw.left.stat().st_size == 50 * PACKET_BYTES  # the strays landed inside the call
    assert written[:25] == [pcm_of(p) for p in payloads[:25]]
    assert written[26:] == [pcm_of(p) for p in payloads[26:]]  # the stream did not move


def test_a_sender_whose_clock_stalls_is_reanchored_by_the_wall_clock(rig: Rig) -> None:
    recorder = rig.recorder(max_skew_seconds=2.0)
    payloads = distinct_payloads(20)
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[:10])
    rig.clock.now += 10.0  # on hold for 10 s; it resumes where its timestamps stopped
    rig.send(recorder, Leg.AGENT, "PCMU", payloads[10:], first_timestamp=5000 + 10 * 160)
    written = packets_in(recorder.close().left)

    resumed = round((10 * PACKET_SECONDS - PACKET_SECONDS + 10.0) / PACKET_SECONDS)
    assert written[:10] == [pcm_of(p) for p in payloads[:10]]
    assert set(written[10:resumed]) == {SILENCE}
    assert written[resumed : resumed + 10] == [pcm_of(p) for p in payloads[10:]]


def test_audio_past_the_maximum_duration_is_dropped(rig: Rig) -> None:
    recorder = rig.recorder(max_duration_seconds=1.0)
    rig.send(recorder, Leg.AGENT, "PCMU", distinct_payloads(100))  # 2 s
    assert recorder.close().left.stat().st_size == 8000 * 2


def test_a_packet_from_before_the_recording_start_is_cut_off(rig: Rig) -> None:
    recorder = rig.recorder()
    payloads = distinct_payloads(3)
    rig.send(recorder, Leg.AGENT, "PCMU", payloads, first_timestamp=10_000)
    recorder.audio(Leg.AGENT, "PCMU", 0x1234, 10_000 - 80, b"\x33" * 160)  # half before sample 0
    written = packets_in(recorder.close().left)
    assert written[0] == pcm_of(b"\x33" * 80) + pcm_of(payloads[0])[160:]
    assert written[1:] == [pcm_of(p) for p in payloads[1:]]


def test_codecs_it_cannot_decode_are_not_recorded(rig: Rig) -> None:
    recorder = rig.recorder()
    rig.send(recorder, Leg.AGENT, "opus", distinct_payloads(10))
    rig.send(recorder, Leg.AGENT, "telephone-event", [b"\x01\x0a\x00\xa0"] * 3)
    raw = recorder.close()
    assert not raw.left.exists() and raw.sample_rate == 8000


def test_pcma_is_decoded_as_a_law_whatever_the_case_of_its_name(rig: Rig) -> None:
    recorder = rig.recorder()
    recorder.audio(Leg.CALLEE, "PCMA", 9, 0, b"\xd5\x2a" * 80)
    recorder.audio(Leg.CALLEE, "pcma", 9, 160, b"\xd5\x2a" * 80)
    assert recorder.close().right.read_bytes() == audioop.alaw2lin(b"\xd5\x2a" * 160, 2)


def test_odd_input_is_bounded_and_never_raises(rig: Rig) -> None:
    recorder = rig.recorder(max_duration_seconds=10.0)
    recorder.audio(Leg.AGENT, "PCMU", 1, 0, b"")  # anchors, records nothing
    recorder.audio(Leg.AGENT, "PCMU", 1, -1, b"\x10" * 160)  # out-of-range ints wrap like RTP's
    recorder.audio(Leg.AGENT, "PCMU", -5, 2**40, b"\x10" * 160)
    recorder.audio(Leg.AGENT, "G722", 2**64, 7, b"\xff" * 65_535)  # an oversized payload: 8 s
    recorder.audio(Leg.CALLEE, "", 0, 0, b"\x10" * 160)
    raw = recorder.close()
    assert raw.left.stat().st_size <= 10 * 8000 * 2
    assert not raw.right.exists()
