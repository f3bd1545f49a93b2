"""Media end to end, on 127.0.0.1 only: `sipline serve` anchors the call's RTP between a baresip phone (its
microphone a 1 kHz tone) and a SIPp carrier (speech from g711a.pcap, then RFC 4733 digits), records it,
and serves the mp3 behind a signed URL. The mp3 is decoded by mpg123, not by anything of ours."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from sipline.client import AsyncClient, CallRecord, Phone, SiplineError
from sipline.domain import calls
from tests.conftest import HeldPort
from tests.e2e.audio import best_match, blocks, envelope, pcap_alaw, tone_share
from tests.e2e.conftest import Served
from tests.e2e.media_peers import (
    CARRIER_DIGITS,
    CARRIER_SPEECH,
    CARRIER_TALK,
    TONE,
    audio_address,
    carrier_trace,
    heard_the_carrier,
    media_carrier,
    phone_with_tone,
    received_sdp,
)
from tests.e2e.stun import NAT_ADDRESS, fake_nat
from tests.e2e.test_calls import CALLEE, CALLER_ID, Desk
from tests.e2e.test_registration import phone_state, provision
from tests.media.recording.audio import Decoded, decode_mp3, rms
from tests.peers import require
from tests.sip.baresip import Baresip, wait_for
from tests.sip.conftest import BARESIP, SIPP, need, sipp_messages, sipp_time

pytestmark = [pytest.mark.interop, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

RTP_PORTS = (20000, 29999)  # the platform's default range: apart from the ephemeral ports peers get
_PHONES = 3  # one per test: a killed baresip leaves its registration behind


class MediaDesk(Desk):
    """One platform for the module, its trunk a SIPp carrier port, with phones made through the API."""

    def __init__(
        self, served: Served, carrier: HeldPort, client: AsyncClient, app_id: str, phones: list[Phone]
    ) -> None:
        super().__init__(served, carrier, client, app_id, phones[0].account)
        self.phones = phones

    async def call_from(self, account: str) -> str:
        return await self.client.send_sip(self.app_id, account, CALLEE, CALLER_ID, "media e2e")

    async def recording(self, recording_id: str, timeout: float = 30) -> str:
        """The signed URL of the recording's mp3, once encoded (-21 until then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return (await self.client.recording_url(recording_id)).url
            except SiplineError as refused:
                assert refused.status == "-21" and loop.time() < deadline, refused
            await asyncio.sleep(0.2)

    @asynccontextmanager
    async def registered_phone(
        self, index: int, workdir: Path, account_params: str = ""
    ) -> AsyncIterator[Baresip]:
        """Phone `index` as a registered baresip with a tone as its microphone, killed at the end."""
        made = self.phones[index]
        phone = phone_with_tone(
            workdir,
            f"<sip:{made.account}@127.0.0.1:{self.served.sip_port}>;auth_pass={made.password};"
            f"answermode=auto;regint=300{account_params}",
        )
        await phone.start()
        try:

            async def registered() -> bool:
                return bool((await phone_state(self.client, self.app_id, made.account)).extra["registered"])

            assert await wait_for(registered, 10), phone.log()
            yield phone
        finally:
            await phone.kill()


@asynccontextmanager
async def media_desk(home: Path, phones: int, **env: str) -> AsyncIterator[MediaDesk]:
    """`sipline serve` in ``home`` with a SIPp carrier port as its trunk and ``phones`` phones."""
    need(SIPP)
    need(BARESIP)
    require("mpg123")
    served = Served(home, f"sqlite:///{home / 'sipline.db'}")
    carrier = HeldPort()
    served.env |= {
        "SIPLINE_TRUNKS": f'{{"carrier": "sip:127.0.0.1:{carrier.port}"}}',
        "SIPLINE_DEFAULT_TRUNK": "carrier",
        **env,
    }
    served.start()
    client, app_id, made = await provision(served, phones, balance="10")
    try:
        yield MediaDesk(served, carrier, client, app_id, made)
    finally:
        await client.aclose()
        served.stop()
        carrier.release()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MediaDesk]:
    settings = {
        "SIPLINE_PHONE_RING_TIMEOUT": "5",
        "SIPLINE_CALLEE_RING_TIMEOUT": "60",  # the default: the ringing test's callee rings 50 s
        "SIPLINE_RTP_PORT_MIN": str(RTP_PORTS[0]),
        "SIPLINE_RTP_PORT_MAX": str(RTP_PORTS[1]),
    }
    async with media_desk(tmp_path_factory.mktemp("media"), _PHONES, **settings) as made:
        yield made


@pytest.fixture
def carrier_port(desk: MediaDesk) -> Iterator[HeldPort]:
    """The trunk's port, held again for this test's carrier once the last one is done with it."""
    if desk.held_carrier_port.released:
        desk.held_carrier_port.hold()
    yield desk.held_carrier_port


async def _recorded_call(
    desk: MediaDesk, account: str, carrier_port: HeldPort, tmp_path: Path, ring: float
) -> CallRecord:
    """A call from the phone to the carrier ringing `ring` s, checked end to end (record, signed mp3,
    both channels); returns the record."""
    carrier = await media_carrier(carrier_port, tmp_path, ring, timeout=ring + 40)
    voice_id = await desk.call_from(account)
    record = await desk.record(voice_id, timeout=ring + 40)
    verdict = await carrier
    assert verdict.returncode == 0, verdict.stdout[-2000:] + verdict.stderr[-2000:]
    assert record.termination_code == "200", record
    assert record.termination_reason == calls.CALLEE_HUNG_UP
    # the carrier was offered the platform's RTP address, not the phone's
    host, port = audio_address(received_sdp(carrier_trace(tmp_path), "INVITE "))
    assert host == "127.0.0.1" and RTP_PORTS[0] <= port <= RTP_PORTS[1]
    # whole seconds from the answer to the BYE, timed by SIPp's own clock (a loaded machine stretches
    # the scenario's pauses): at least what SIPp timed from its ACK, less than a second more
    sipp = sipp_messages(carrier_trace(tmp_path))
    talk = (
        sipp_time(sipp, sent=True, starts="BYE ") - sipp_time(sipp, sent=False, starts="ACK ")
    ).total_seconds()
    assert talk >= CARRIER_TALK and int(talk) <= record.call_duration <= int(talk) + 1, talk
    assert record.feedback_value == CARRIER_DIGITS  # RFC 4733, each digit once, in order
    assert record.recording_file_id is not None
    assert str(uuid.UUID(record.recording_file_id)) == record.recording_file_id

    url = await desk.recording(record.recording_file_id)
    async with httpx.AsyncClient(timeout=30) as web:
        mp3 = await _download(web, url, tmp_path)
    decoded = decode_mp3(mp3)
    assert abs(decoded.duration - record.call_duration) <= 1, (decoded.duration, record.call_duration)
    _check_channels(decoded)
    return record


async def _download(web: httpx.AsyncClient, url: str, tmp_path: Path) -> Path:
    """The mp3 behind the signed URL, checking what a browser relies on: type, Range, and that a
    tampered link is refused."""
    whole = await web.get(url)
    assert whole.status_code == 200, whole.text
    assert whole.headers["content-type"] == "audio/mpeg"
    body = whole.content
    assert len(body) > 1000 and (body[:3] == b"ID3" or (body[0] == 0xFF and body[1] & 0xE0 == 0xE0))  # sync
    part = await web.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(body)}"
    assert part.content == body[100:1100]
    for tampered in _tampered(url):
        assert (await web.get(tampered)).status_code == 403, tampered
    mp3 = tmp_path / "recording.mp3"
    mp3.write_bytes(body)
    return mp3


def _tampered(url: str) -> list[str]:
    """The link with its signature changed, and pointing at another recording."""
    path, _, query = url.partition("?")
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    signature = params["sig"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    other = path.rsplit("/", 1)[0] + f"/{uuid.uuid4()}.mp3"
    return [url.replace(f"sig={signature}", f"sig={flipped}"), f"{other}?{query}"]


def _check_channels(decoded: Decoded) -> None:
    """Left: the phone's tone, all along. Right: the carrier's speech, none of the tone."""
    seconds = blocks(decoded.left, decoded.sample_rate, 1.0)[1:-1]  # the edges hold the answer and the BYE
    toned = [tone_share(block, decoded.sample_rate, TONE) for block in seconds]
    assert sum(share > 0.8 for share in toned) >= 0.8 * len(toned), [round(share, 2) for share in toned]
    right = blocks(decoded.right, decoded.sample_rate, 1.0)
    assert all(tone_share(block, decoded.sample_rate, TONE) < 0.1 for block in right)  # no leak between legs
    # the speech, found in the right channel by its loudness contour (codecs keep that)
    speech = envelope(pcap_alaw(CARRIER_SPEECH), 8000)[20:120]  # 1 s to 6 s of g711a.pcap: voiced
    heard = envelope(decoded.right, decoded.sample_rate)
    assert max(rms(block) for block in right) > 500
    assert best_match(speech, heard) > 0.8


async def test_click_to_call_is_recorded_with_both_legs_and_the_digits(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    async with desk.registered_phone(0, tmp_path / "phone") as phone:
        await _recorded_call(desk, desk.phones[0].account, carrier_port, tmp_path, ring=0.5)
    assert heard_the_carrier(phone)


async def test_callee_ringing_50_seconds_before_answering(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    async with desk.registered_phone(1, tmp_path / "phone") as phone:
        record = await _recorded_call(desk, desk.phones[1].account, carrier_port, tmp_path, ring=50)
    rang = _at(record.answer_time) - _at(record.ringing_time)
    assert rang.total_seconds() >= 49  # whole seconds in the record
    # the answered phone heard the platform's ringback while the callee rang (its 180 had no SDP):
    # RTP in every 10 s, whatever the tone's cadence (baresip's rates average a few seconds)
    heard = {at // 10 for at, _sent, received in phone.bitrates() if received > 0 and at < 50}
    assert heard >= {0, 1, 2, 3, 4}, phone.bitrates()[::10]


async def test_phone_behind_nat_gets_audio_both_ways(
    desk: MediaDesk, carrier_port: HeldPort, tmp_path: Path
) -> None:
    async with fake_nat() as (nat, stun_port):
        stun = f";medianat=stun;stunserver=stun:127.0.0.1:{stun_port}"
        async with desk.registered_phone(2, tmp_path / "phone", stun) as phone:
            # its tone in the left channel: the phone's audio got in, though its SDP named NAT_ADDRESS
            await _recorded_call(desk, desk.phones[2].account, carrier_port, tmp_path, ring=0.5)
    assert nat.mapped, f"the phone never asked the NAT for its {NAT_ADDRESS} address"
    assert heard_the_carrier(phone)  # the carrier's audio reached it where it really sends from


def _at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)
