"""What crosses the bridge once both legs are up: re-INVITEs (hold) and the maximum duration."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.domain import calls
from sipline.sip.sdp import SDP
from sipline.store.models import Account
from tests.calls.conftest import PhoneFactory, finished, names_only_the_platform, record_of, set_balance
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_call_duration": 2}


async def answered(api: Api, voice_id: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (await record_of(api, voice_id))["answerTime"] is None:
        assert loop.time() < deadline
        await asyncio.sleep(0.05)


async def test_hold_reinvite_reaches_the_callee_and_its_answer_comes_back(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    assert live.sandbox is not None
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]  # the sandbox talks until hung up
    await answered(api, voice_id)
    await asyncio.sleep(0.2)  # the ACK with the callee's answer reaches the phone
    hold = phone.calls[0].local_body.replace(b"a=sendrecv", b"a=sendonly")
    response = await phone.calls[0].request("INVITE", body=hold, content_type=SDP)
    assert response.status == 200
    # the platform answers the hold (media anchored: its own address, receiving only) ...
    assert b"a=recvonly" in response.body and names_only_the_platform(live, response.body)
    # ... and the callee got a re-INVITE of its own, with the platform's offer
    carrier_leg = next(iter(live.sandbox.agent.sip.dialogs.dialogs.values()))
    assert carrier_leg.remote_cseq == 2
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200"


async def test_a_reinvite_without_an_offer_gets_the_platforms_offer(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]
    await answered(api, voice_id)
    response = await phone.calls[0].request("INVITE")  # a session refresh: the platform offers
    assert response.status == 200 and response.header("Content-Type") == SDP
    assert names_only_the_platform(live, response.body)
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200"


async def test_maximum_call_duration_cuts_the_call(live: Platform, api: Api, phone_of: PhoneFactory) -> None:
    phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]
    done = await finished(api, voice_id)
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.MAX_DURATION
    assert done["callDuration"] == 2
    await asyncio.sleep(0.2)
    assert phone.calls[0].terminated.is_set()  # the phone got a BYE as well


class TestBalanceRunsOut:
    """0.60 a minute billed per second: 0.03 pays three seconds, then the call is cut."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"rates": [{"prefix": "", "rate": "0.60", "period": "1+1"}], "max_call_duration": 60}

    async def test_the_call_is_cut_when_the_balance_is_spent(
        self, live: Platform, api: Api, phone_of: PhoneFactory
    ) -> None:
        _phone, record = await phone_of()
        await set_balance(live, api, Decimal("0.03"))
        voice_id = (await send(api, record, UK + "9000"))["data"]
        done = await finished(api, voice_id)
        assert done["terminationReason"] == calls.balance_exhausted(3)
        assert done["callDuration"] == 3 and done["cost"] == "0.03"
        async with live.sessions() as session:
            balance = await session.scalar(
                select(Account.balance).where(Account.api_key == api.customer.api_key)
            )
        assert balance == Decimal(0)  # spent, never below zero
