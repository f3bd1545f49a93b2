"""The media tests' peers: a baresip phone whose microphone plays a tone, and a SIPp carrier that talks
(SIPp's g711a.pcap), presses RFC 4733 digits and hangs up (scenarios/carrier_media.xml)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.conftest import HeldPort
from tests.e2e.audio import write_tone
from tests.sip.baresip import Baresip
from tests.sip.conftest import SippResult, run_sipp, sipp_listening

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MEDIA_CARRIER = SCENARIOS / "carrier_media.xml"
SIPP_MEDIA = Path("/usr/share/sip-tester")
CARRIER_SPEECH = SIPP_MEDIA / "g711a.pcap"  # 7.08 s of speech, PCMA, 30 ms packets
CARRIER_SPEECH_SSRC = 3739283087  # the SSRC of every packet in it
CARRIER_DIGITS_SSRC = 235223118  # the SSRC of every dtmf_2833_N.pcap
CARRIER_DIGITS = "123"  # what carrier_media.xml presses, in order (its dtmf_2833_N.pcap, type 101)
CARRIER_TALK = 9.2  # seconds carrier_media.xml talks, from the ACK of its 200 to its BYE
TONE = 1000.0  # Hz, the phone's microphone
G711_BITRATE = 64000  # bit/s of RTP payload
_MICROPHONE_SECONDS = 120  # longer than any call here: baresip hangs up when its WAV ends


def phone_with_tone(workdir: Path, account_line: str) -> Baresip:
    """A baresip phone whose microphone plays a `TONE` Hz tone (8 kHz mono 16-bit WAV through aufile)."""
    workdir.mkdir(parents=True, exist_ok=True)
    tone = write_tone(workdir / "tone.wav", TONE, _MICROPHONE_SECONDS)
    return Baresip(workdir, account_line, microphone=tone)


async def media_carrier(
    port: HeldPort, cwd: Path, ring_seconds: float, *extra: str, timeout: float = 40
) -> asyncio.Task[SippResult]:
    """SIPp answering one call with carrier_media.xml on ``port`` after ringing ``ring_seconds``; a task
    (await it for SIPp's verdict), started once SIPp listens. Its messages go to `carrier_trace`."""
    args = [
        *extra,
        "-sf", str(MEDIA_CARRIER),
        "-i", "127.0.0.1",
        "-p", str(port.port),
        "-m", "1",
        "-d", str(round(ring_seconds * 1000)),  # the scenario's <pause/> between its 180 and its 200
        "-trace_err",
        "-trace_msg",
        "-message_file", str(carrier_trace(cwd)),
    ]  # fmt: skip
    task = asyncio.create_task(run_sipp(args, cwd=cwd, timeout=timeout, held=port))
    await sipp_listening(port)
    return task


def carrier_trace(cwd: Path) -> Path:
    """SIPp's log of the carrier's messages, each with SIPp's time of sending or receiving it."""
    return cwd / "carrier-messages.log"


def received_sdp(trace: Path, first_line: str) -> str:
    """The SDP body of the first message SIPp received whose first line starts with `first_line`."""
    for block in re.split(r"^-{20,} .*\n", trace.read_text(errors="replace"), flags=re.M)[1:]:
        direction, _blank, message = block.split("\n", 2)
        if " received " in direction and message.startswith(first_line):
            return message.partition("\n\n")[2]
    raise AssertionError(f"SIPp received no {first_line!r}")


def audio_address(sdp: str) -> tuple[str, int]:
    """Where an SDP asks for its audio: the media-level connection address (else the session's), port."""
    session, _, media = sdp.partition("\nm=audio ")
    port = int(media.split(None, 1)[0])
    connections = re.findall(r"^c=IN IP4 (\S+)", media, re.M) or re.findall(r"^c=IN IP4 (\S+)", session, re.M)
    return connections[0], port


def ssrc(sdp: str) -> int:
    found = re.search(r"^a=ssrc:(\d+)", sdp, re.M)
    assert found is not None, sdp
    return int(found[1])


def heard_the_carrier(phone: Baresip) -> bool:
    """Whether the phone received RTP for most of a status period (baresip averages its receive rate
    over about 5 s): the carrier's 7 s of speech, not a ringback of half a second."""
    return max(received for _at, _sent, received in phone.bitrates()) >= 0.75 * G711_BITRATE


def ssrcs_heard(phone: Baresip) -> set[int]:
    """The RTP sources baresip logged switching between (``SSRC changed A -> B``): a phone that hears
    two streams at once (its own echoed back and the carrier's) names both."""
    pairs = re.findall(r"SSRC changed (0x[0-9a-f]+) -> (0x[0-9a-f]+)", phone.full_log())
    return {int(value, 16) for pair in pairs for value in pair}
