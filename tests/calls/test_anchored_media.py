"""Calls with their media anchored in the platform: what each leg is told, and how a call's media
session ends (media timeout, no free port, released after every call)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import pytest

from sipline.bootstrap import Platform
from sipline.domain import calls
from sipline.media.port import Leg, NoFreePort
from sipline.media.relay import EmbeddedMediaPlane
from tests.calls.conftest import PhoneFactory, finished, names_only_the_platform, record_of
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, free_ports


def embedded(platform: Platform) -> EmbeddedMediaPlane:
    assert isinstance(platform.media, EmbeddedMediaPlane)
    return platform.media


async def test_the_phone_is_acked_at_once_and_both_legs_see_only_the_platform(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    assert live.sandbox is not None
    live.sandbox.ring_seconds = 1.0  # the callee rings a while (below the ring timeout) before it answers
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9001"))["data"]
    await asyncio.wait_for(phone.answered.wait(), 5)
    ringing = await record_of(api, voice_id)
    while ringing["ringingTime"] is None:
        await asyncio.sleep(0.05)
        ringing = await record_of(api, voice_id)
    assert phone.calls[0].acked.is_set() and ringing["answerTime"] is None  # ACKed while it rings
    (acked_with,) = phone.agent.remote_descriptions
    assert names_only_the_platform(live, acked_with)
    assert f" {phone.agent.media_port} ".encode() not in acked_with
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.CALLEE_HUNG_UP
    (callee_offer,) = live.sandbox.agent.remote_descriptions  # the INVITE's, taken when it answered
    assert names_only_the_platform(live, callee_offer)
    assert b"PCMU" in callee_offer and b"telephone-event" in callee_offer


async def test_no_media_from_either_side_ends_the_call(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    assert live.sandbox is not None
    embedded(live).media_timeout = 2.0
    live.sandbox.agent.sends_media = False
    phone, record = await phone_of()
    phone.agent.sends_media = False
    voice_id = (await send(api, record, UK + "9000"))["data"]  # the sandbox talks until hung up
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200"
    assert done["terminationReason"].startswith(calls.MEDIA_TIMEOUT), done["terminationReason"]
    await asyncio.sleep(0.2)
    assert phone.calls[0].terminated.is_set()  # both legs got a BYE
    assert not live.sandbox.agent.sip.dialogs.dialogs


async def test_the_built_in_peers_rtp_keeps_a_call_up(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    embedded(live).media_timeout = 2.0
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9004"))["data"]  # talks 4 s: twice the timeout
    done = await finished(api, voice_id)
    assert done["terminationReason"] == calls.CALLEE_HUNG_UP and done["callDuration"] == 4


class _Quiet:
    """Media events nobody listens to (a session that only holds ports)."""

    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None: ...

    def media_timeout(self, idle_seconds: float) -> None: ...

    def media_activity(self, at: datetime) -> None: ...

    def recording_failed(self, reason: str) -> None: ...


class TestNoFreePort:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        first = free_ports(4)
        return {"rtp_port_min": first, "rtp_port_max": first + 3}  # one call's two port pairs

    async def test_the_call_fails_with_503_and_the_phone_is_not_rung(
        self, live: Platform, api: Api, phone_of: PhoneFactory
    ) -> None:
        phone, record = await phone_of()
        hog = None
        with contextlib.suppress(NoFreePort):  # taken by someone else already: just as full
            hog = live.media.allocate("hog", _Quiet())
        try:
            voice_id = (await send(api, record, UK + "9001"))["data"]
            done = await finished(api, voice_id)
        finally:
            if hog is not None:
                hog.release()
        assert done["terminationCode"] == "503"
        assert calls.NO_MEDIA_PORT in done["terminationReason"]
        assert done["answerTime"] is None and done["cost"] == "0"
        assert phone.incoming == []
        assert live.media.sessions() == 0


async def test_every_end_of_a_call_releases_its_media_session(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    """Answered, busy, refused at once, not answered: after each the relay holds no session."""
    phones = [await phone_of(index) for index in range(3)]
    outcomes = ["9001", "0486", "0404", "0000", "9001", "0503"] * 3  # 0000: the ring timeout cancels it
    for start in range(0, len(outcomes), len(phones)):
        voice_ids = [
            (await send(api, record, UK + outcome))["data"]
            for (_phone, record), outcome in zip(phones, outcomes[start:], strict=False)
        ]
        for voice_id in voice_ids:
            assert (await finished(api, voice_id))["hangupTime"] is not None
    assert len(live.calls.active) == 0
    assert live.media.sessions() == 0
