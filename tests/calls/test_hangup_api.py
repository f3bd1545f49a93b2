"""sipline's voice API extension POST /voice/hangup: a call in progress ended by its voiceId, and
the console's live-calls view of it."""

import asyncio
from decimal import Decimal

from sipline.bootstrap import Platform
from sipline.services.auth import Caller
from sipline.services.live_calls import HUNG_UP_BY_REQUEST, CallState
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, Customer


async def test_an_answered_call_is_hung_up_by_its_voice_id(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]  # the callee talks until hung up
    auth = await live.directory.auth_record(api.customer.api_key)
    assert auth is not None
    caller = Caller(auth.account_id, api.customer.api_key)
    for _ in range(100):
        calls = await live.live_calls.list(caller)
        if calls and calls[0].state == CallState.TALKING:
            break
        await asyncio.sleep(0.1)
    assert [(c.voice_id, c.state) for c in calls] == [(voice_id, CallState.TALKING)]
    everyone = await live.live_calls.list(None)  # the operator's view
    assert [(c.voice_id, c.api_key) for c in everyone] == [(voice_id, api.customer.api_key)]
    assert (await api.post("hangup", {"voiceId": voice_id})) == {
        "status": "0",
        "reason": "success",
        "data": None,
    }
    done = await finished(api, voice_id)
    assert done["terminationReason"] == HUNG_UP_BY_REQUEST and done["answerTime"] is not None
    assert await live.live_calls.list(caller) == []
    again = await api.post("hangup", {"voiceId": voice_id})
    assert again["status"] == "-22" and "is not a call of this account in progress" in str(again["reason"])


async def test_another_accounts_call_cannot_be_hung_up(
    live: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    _phone, record = await phone_of()
    voice_id = (await send(api, record, UK + "9000"))["data"]
    other = await live.tenancy.create_account(balance=Decimal(1))
    app = await live.tenancy.create_app(other.api_key)
    mallory = Api(api.http, Customer(other.api_key, other.api_secret, app.app_id))
    refused = await mallory.post("hangup", {"voiceId": voice_id})
    assert refused["status"] == "-22"
    assert voice_id in live.calls.active  # still up
    await api.post("hangup", {"voiceId": voice_id})
    await finished(api, voice_id)


async def test_bad_hangup_bodies(api: Api) -> None:
    for body, reason in [({}, "voiceId is required"), ({"voiceId": "12"}, "voiceId must be the 19-digit id")]:
        answer = await api.post("hangup", body)
        assert answer["status"] == "-22" and str(answer["reason"]).startswith(reason), answer
