"""The media tests' peers on their own, without the platform: the baresip phone (a tone as microphone) calls
the SIPp carrier (carrier_media.xml) directly. Proves the set-up the platform's media tests rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HeldPort
from tests.e2e.media_peers import (
    CARRIER_DIGITS_SSRC,
    CARRIER_SPEECH_SSRC,
    G711_BITRATE,
    audio_address,
    carrier_trace,
    media_carrier,
    phone_with_tone,
    received_sdp,
    ssrc,
    ssrcs_heard,
)
from tests.e2e.stun import NAT_ADDRESS, fake_nat
from tests.sip.baresip import Baresip
from tests.sip.conftest import BARESIP, SIPP, need

pytestmark = [pytest.mark.interop, pytest.mark.slow]

_NO_REGISTRATION = "<sip:phone@127.0.0.1>;regint=0;answermode=auto"


async def _call_carrier(phone: Baresip, tmp_path: Path, *sipp: str) -> str:
    """The phone calls the carrier, which talks and hangs up; returns the phone's offer as SIPp got it."""
    need(SIPP)
    need(BARESIP)
    await phone.start()
    try:
        carrier = HeldPort()
        verdict = await media_carrier(carrier, tmp_path, 0, *sipp)
        await phone.command(f"dial sip:carrier@127.0.0.1:{carrier.port}")
        result = await verdict
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:] + phone.log()
    finally:
        await phone.kill()
    return received_sdp(carrier_trace(tmp_path), "INVITE ")


async def test_phone_and_carrier_exchange_audio(tmp_path: Path) -> None:
    phone = phone_with_tone(tmp_path / "phone", _NO_REGISTRATION)
    # SIPp echoes what reaches its media port back where it came from, beside playing its speech
    offer = await _call_carrier(phone, tmp_path, "-rtp_echo")
    assert audio_address(offer)[0] == "127.0.0.1"
    heard = ssrcs_heard(phone)
    assert ssrc(offer) in heard  # the phone's own audio reached the carrier and came back
    assert {CARRIER_SPEECH_SSRC, CARRIER_DIGITS_SSRC} <= heard  # the carrier's speech and digits too
    assert max(received for _at, _sent, received in phone.bitrates()) > 1.5 * G711_BITRATE  # both at once


async def test_phone_behind_the_fake_nat_names_an_address_nothing_listens_on(tmp_path: Path) -> None:
    async with fake_nat() as (nat, stun_port):
        phone = phone_with_tone(
            tmp_path / "phone", f"{_NO_REGISTRATION};medianat=stun;stunserver=stun:127.0.0.1:{stun_port}"
        )
        offer = await _call_carrier(phone, tmp_path)
    host, port = audio_address(offer)
    assert host == NAT_ADDRESS and port in nat.mapped.values()
    rates = phone.bitrates()
    assert max(sent for _at, sent, _received in rates) >= G711_BITRATE  # it talked, from 127.0.0.1
    # SIPp sent its speech where the SDP said: nothing got it, so without latching the phone hears nothing
    assert max(received for _at, _sent, received in rates) == 0
