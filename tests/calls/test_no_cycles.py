"""A finished call leaves no reference cycles behind.

`sipline serve` collects the oldest generation rarely (runtime.py `_settle_heap`): whatever a call left
in cycles stayed in memory for minutes under load, about 55 kB a call. Here everything is collected
first, the collector is paused, a call is made through the sandbox carrier to a virtual phone (the
same SIP stack on both sides), the transactions it left are ended (as their timers would, 32 s later),
and a collection that keeps what it finds (DEBUG_SAVEALL) must find nothing of sipline's.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from sipline.bootstrap import Platform
from sipline.sip.server import SipServer
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api
from tests.garbage import paused_collector, sipline_garbage

__all__ = ["paused_collector"]  # a fixture, used by name


def end_transactions(*servers: SipServer) -> None:
    for server in servers:
        server.transactions.close()  # what timers L, M, J and K do once they fire


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ("9001", "200"),  # the callee hangs up
        ("9000", "200"),  # the phone hangs up
        ("0000", "487"),  # the phone hangs up while the callee still rings: the callee is cancelled
    ],
)
async def test_a_finished_call_leaves_no_reference_cycles(
    live: Platform, api: Api, phone_of: PhoneFactory, paused_collector: None, behaviour: str, code: str
) -> None:
    assert live.sandbox is not None
    phone, record = await phone_of(talk_seconds=None if behaviour == "9001" else 1.0)
    for _ in range(2):  # the second call meets warm caches: only what calls leave remains
        voice_id = (await send(api, record, UK + behaviour))["data"]
        done = await finished(api, voice_id)
        assert done["terminationCode"] == code and (done["answerTime"] is not None) == (code == "200")
        await live.calls.writer.drain()
        await asyncio.sleep(0.3)  # the last BYE's answer
        end_transactions(live.sip, live.sandbox.agent.sip, phone.agent.sip)
        phone.calls.clear()  # the virtual phone keeps its calls for the tests; not a cycle
        await asyncio.sleep(0)
    assert sipline_garbage() == Counter()  # the call, its media session and its relay legs included
