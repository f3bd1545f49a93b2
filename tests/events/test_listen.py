"""`sipline webhooks listen` as an integrator runs it: a process receiving the platform's pushes,
verifying each and printing it as a JSON line; a request signed with another secret gets 400."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from sipline.bootstrap import Platform
from sipline.events.signing import new_secret
from tests.calls.conftest import PhoneFactory
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api, free_port


async def line(stream: asyncio.StreamReader) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(await asyncio.wait_for(stream.readline(), 15))
    return shown


async def test_listen_prints_the_verified_reports_and_refuses_a_forged_one(
    live: Platform, pushing: Platform, api: Api, phone_of: PhoneFactory
) -> None:
    port = free_port()
    config = await live.push_config.set_push(api.customer.app_id, f"http://127.0.0.1:{port}/crm")
    listener = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sipline", "webhooks", "listen", "--port", str(port), "--secret", config.secret,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert listener.stdout is not None and listener.stderr is not None
    try:
        started = (await asyncio.wait_for(listener.stderr.readline(), 15)).decode()
        assert started.startswith(f"listening on http://127.0.0.1:{port}/, verifying signatures")
        _phone, record = await phone_of()
        voice_id = (await send(api, record, UK + "0404"))["data"]
        shown = await line(listener.stdout)
        assert shown["verified"] is True and shown["path"] == "/crm"
        assert shown["webhookId"] == f"msg_{voice_id}_3" == shown["report"]["eventId"]
        assert shown["report"]["voiceId"] == voice_id and shown["report"]["terminationCode"] == "404"

        body = json.dumps({"voiceId": "forged"})
        forged = Webhook(new_secret()).sign("msg_1_3", datetime.now(UTC), body)
        headers = {
            "webhook-id": "msg_1_3",
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": forged,
        }
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"http://127.0.0.1:{port}/crm", content=body, headers=headers)
        assert answer.status_code == 400
        refused = await line(listener.stdout)
        assert refused["verified"] is False and "No matching signature" in refused["error"]
    finally:
        listener.terminate()
        await listener.wait()
