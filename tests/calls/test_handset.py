"""Calls dialled on a handset, in-process: virtual phones registered to the platform dial (the 407
answered with their credentials), the sandbox carrier is the trunk. What each phone is answered, what
reaches the trunk or another phone, and the records."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform
from sipline.calls.handset_call import NO_ACK
from sipline.carrier.phone import VirtualPhone
from sipline.domain import calls
from sipline.sip.ban import BanPolicy
from sipline.sip.digest import DigestClient
from sipline.sip.invite_auth import FROM_NOT_AUTHENTICATED, NOT_REGISTERED_HERE
from sipline.sip.message import SipMessage
from sipline.sip.transaction import TimerConfig
from sipline.sip.transport import Flow
from sipline.store.models import CallRecord, LedgerEntry
from tests.calls.conftest import PhoneFactory, finished, record_of, set_balance
from tests.calls.test_fraud_limits import set_limits
from tests.calls.test_send_sip import send
from tests.conftest import Api

UK = "0207946"  # a national number of the dial plan's default country (44) + four sandbox digits


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "dial_plan": {"country_code": "44"},
        "rates": [{"prefix": "44", "rate": "0.0100", "period": "60+60"}],  # nothing else has a rate
    }


async def voice_ids(platform: Platform) -> list[str]:
    async with platform.sessions() as session:
        return list((await session.scalars(select(CallRecord.voice_id).order_by(CallRecord.id))).all())


async def dialled_record(platform: Platform, api: Api) -> dict[str, Any]:
    """The record of the one call placed, once it has ended."""
    (voice_id,) = await voice_ids(platform)
    return await finished(api, voice_id)


async def test_an_answered_call_goes_through_the_trunk_rated_and_paid_like_send_sip(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    result = await phone.dial(UK + "9001")  # the sandbox answers, talks 1 s and hangs up
    assert result.response.status == 200
    done = await dialled_record(live, api)
    assert done["callOrigin"] == "handset" and done["callee"] == "442079469001"
    assert done["displayNum"] == record["displayNum"] and done["sipGroupName"] == record["groupName"]
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.CALLEE_HUNG_UP
    assert done["callDuration"] == 1 and done["chargedDuration"] == 60 and done["cost"] == "0.01"
    assert done["code"].startswith("United Kingdom") and done["feedbackValue"] == "-1"
    assert done["callTime"] is not None and done["ringingTime"] is not None
    async with live.sessions() as session:
        ledger = (
            await session.scalars(select(LedgerEntry).where(LedgerEntry.reference == done["voiceId"]))
        ).all()
    assert [(e.kind, e.amount) for e in ledger] == [
        ("reserve", Decimal("-0.01")),
        ("release", Decimal("0.01")),
        ("call", Decimal("-0.01")),
    ]
    assert phone.calls[0].terminated.is_set()  # the callee's BYE reached the phone


@pytest.mark.parametrize(
    ("suffix", "status", "code"),
    [("0486", 486, "486"), ("0404", 404, "404"), ("0000", 480, "487")],  # busy, not found, no answer
)
async def test_callee_failures_reach_the_phone_with_their_codes(
    live: Platform, api: Api, phone_of: PhoneFactory, suffix: str, status: int, code: str
) -> None:
    phone, _record = await phone_of()
    result = await phone.dial(UK + suffix)
    assert result.response.status == status, result.response
    done = await dialled_record(live, api)
    assert done["terminationCode"] == code and done["answerTime"] is None and done["cost"] == "0"
    if suffix == "0000":  # the ring timeout cancelled the callee
        assert calls.CALLEE_NO_ANSWER in done["terminationReason"]
        assert calls.CALLEE_NO_ANSWER in (result.response.reason or "")


async def test_the_phone_cancelling_while_it_rings_cancels_the_callee(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, _record = await phone_of()
    call = phone.dial(UK + "0000")  # rings for ever
    await asyncio.sleep(0.8)
    call.cancel()
    result = await call
    assert result.response.status == 487
    done = await dialled_record(live, api)
    assert done["terminationCode"] == "487" and calls.PHONE_HUNG_UP in done["terminationReason"]
    assert done["ringingTime"] is not None


async def test_no_rate_no_number_and_no_balance_are_refused_before_anything_rings(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, _record = await phone_of()
    assert live.sandbox is not None
    assert (await phone.dial("+15550100")).response.status == 404  # no rate outside 44
    assert (await phone.dial("12#45")).response.status == 484
    await set_balance(live, api, Decimal("0"))
    refused = (await phone.dial(UK + "9001")).response
    assert refused.status == 402 and "balance" in (refused.reason or "")
    assert live.sandbox.calls == 0 and await voice_ids(live) == []


async def test_toll_fraud_refusals_never_reach_the_trunk(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of(0)
    _other, other = await phone_of(1)
    assert live.sandbox is not None
    # no credentials: challenged, never placed
    unauthenticated = (await phone.dial(UK + "9001", credentials=False)).response
    assert unauthenticated.status == 407 and unauthenticated.headers("Proxy-Authenticate")
    # another phone's credentials for this phone's From, and the other way round
    spoofed = (
        await phone.dial(UK + "9001", credentials=DigestClient(other["account"], other["password"]))
    ).response
    assert (spoofed.status, spoofed.reason) == (403, FROM_NOT_AUTHENTICATED)
    # a Request-URI for another domain is not relayed, whatever the credentials
    relayed = (await phone.dial("442079469001", domain="carrier.example.com")).response
    assert relayed.status == 403 and "relaying" in (relayed.reason or "")
    # the right password, from an address the phone is not registered from
    elsewhere = VirtualPhone(
        ("127.0.0.1", live.sip.port),
        record["account"],
        record["password"],
        domain=live.settings.sip_domain,
        host="127.0.0.2",
    )
    await elsewhere.start(register=False)
    try:
        stranger = (await elsewhere.dial(UK + "9001")).response
    finally:
        await elsewhere.stop(unregister=False)
    assert (stranger.status, stranger.reason) == (403, NOT_REGISTERED_HERE)
    assert live.sandbox.calls == 0 and await voice_ids(live) == []


async def test_a_banned_source_stays_banned_for_invites(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    live.sip.failures.policy = BanPolicy(max_failures=2, slow_delay=0)
    wrong = DigestClient(record["account"], "not-the-password")
    for _ in range(2):
        assert (await phone.dial(UK + "9001", credentials=wrong)).response.status == 403
    banned = phone.dial(UK + "9001", credentials=wrong)  # the third failure bans the source
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(banned), 1.0)
    right = phone.dial(UK + "9001")  # the right password: dropped unanswered all the same
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(right), 1.0)
    banned.cancel()
    right.cancel()
    assert live.sip.failures.is_banned("127.0.0.1")
    assert live.sandbox is not None and live.sandbox.calls == 0
    live.sip.failures.unban("127.0.0.1")  # the phone's unregistration at teardown gets its answer


async def test_busy_both_ways_between_send_sip_and_handset_calls(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, record = await phone_of()
    result = await phone.dial(UK + "9000")  # stays up until someone hangs up
    assert result.response.status == 200 and result.dialog is not None
    refused = await send(api, record, "442079469001")
    assert refused["status"] == "-68", refused
    await result.dialog.bye()
    await dialled_record(live, api)
    # and a phone in a sendSip call is busy for its own dialling
    answer = await send(api, record, "442079469000")
    assert answer["status"] == "0", answer
    await asyncio.wait_for(phone.answered.wait(), 5)
    assert (await phone.dial(UK + "9001")).response.status == 486


async def test_phone_to_phone_rings_the_colleague_on_net(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    caller, record = await phone_of(0)
    colleague, other = await phone_of(1)
    result = await caller.dial(other["account"])
    assert result.response.status == 200
    assert colleague.incoming[0].from_.uri.user == record["account"]
    assert result.dialog is not None
    await asyncio.sleep(1.1)
    await result.dialog.bye()
    done = await dialled_record(live, api)
    assert done["callOrigin"] == "phone_to_phone" and done["callee"] == other["account"]
    assert done["code"] == "on-net" and done["cost"] == "0" and done["callDuration"] == 1
    assert done["terminationCode"] == "200" and done["terminationReason"] == calls.PHONE_HUNG_UP
    assert live.sandbox is not None and live.sandbox.calls == 0


async def test_a_busy_or_unregistered_colleague_and_extensions(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    first, record = await phone_of(0)
    second, other = await phone_of(1)
    third, _third = await phone_of(2)
    call = first.dial("*2")  # the app's second phone, by its position
    assert (await call).response.status == 200
    assert second.incoming[0].from_.uri.user == record["account"]
    assert (await third.dial(other["account"])).response.status == 486
    assert first.calls[0].state.name == "CONFIRMED"
    await first.calls[0].bye()
    await dialled_record(live, api)  # settled: no longer busy
    await second.stop()  # unregisters
    assert (await third.dial(other["account"])).response.status == 480


async def test_the_callees_info_digits_are_the_feedback_and_the_phone_hangs_up(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    phone, _record = await phone_of()
    result = await phone.dial(UK + "8123")  # the sandbox answers and presses 1 2 3 (SIP INFO)
    assert result.response.status == 200 and result.dialog is not None
    (voice_id,) = await voice_ids(live)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (await record_of(api, voice_id))["feedbackValue"] != "123":
        assert loop.time() < deadline
        await asyncio.sleep(0.1)
    await result.dialog.bye()
    done = await finished(api, voice_id)
    assert done["feedbackValue"] == "123" and done["terminationReason"] == calls.PHONE_HUNG_UP
    assert done["recordingFileId"] is not None  # recorded from the answer, as sendSip calls are


async def test_the_accounts_fraud_limits_apply_to_handset_calls(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    (first, _record), (second, _other) = await phone_of(0), await phone_of(1)
    assert live.sandbox is not None
    assert (await set_limits(api, deny=["4420"]))["status"] == "0"
    denied = (await first.dial(UK + "9001")).response
    assert (denied.status, denied.reason) == (
        403,
        "Forbidden (calls to prefix 4420 are denied for this account)",
    )
    assert live.sandbox.calls == 0 and await voice_ids(live) == []
    assert (await set_limits(api, maxConcurrent=1))["status"] == "0"  # replaces: nothing denied now
    up = await first.dial(UK + "9000")  # stays up
    assert up.response.status == 200 and up.dialog is not None
    second_call = (await second.dial(UK + "9001")).response
    assert second_call.status == 403 and "its limit is 1" in (second_call.reason or ""), second_call.reason
    await up.dialog.bye()
    await dialled_record(live, api)  # settled: the admission is released
    again = await second.dial(UK + "9001")
    assert again.response.status == 200


async def test_a_200_the_phone_never_acknowledges_ends_the_call(
    live: Platform, api: Api, phone_of: PhoneFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone, _record = await phone_of()
    live.sip.config = replace(live.sip.config, timers=TimerConfig(t1=0.05))  # 64*T1: 3.2 s
    transport = phone.agent.sip.transport
    send = transport.send

    def no_acks(message: SipMessage | bytes, flow: Flow) -> bool:
        data = message if isinstance(message, bytes) else message.to_bytes()
        return False if data.startswith(b"ACK ") else send(message, flow)

    monkeypatch.setattr(transport, "send", no_acks)  # a phone that vanished after its INVITE
    result = await phone.dial(UK + "9000")  # the callee stays up until someone hangs up
    assert result.response.status == 200
    done = await dialled_record(live, api)
    assert done["terminationCode"] == "200" and done["terminationReason"] == NO_ACK
    answered, ended = datetime.fromisoformat(done["answerTime"]), datetime.fromisoformat(done["hangupTime"])
    assert 3 <= (ended - answered).total_seconds() <= 5  # 64*T1 after the answer, whole seconds
