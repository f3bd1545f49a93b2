"""`sipline serve --log-format text|json` with the access log on: a customer makes phones, reads their
credentials, registers one, calls through the sandbox carrier and an operator scrapes /metrics. The
log never shows a secret, every json line parses, and the lines of a call carry its voiceId."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from sipline.carrier.phone import VirtualPhone
from sipline.client import AsyncClient
from sipline.domain.signing import compute_sign
from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import Served

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-token-for-the-log-test"
CALLEE = "442079469001"  # the sandbox answers and talks 1 s


async def call_through(served: Served) -> tuple[str, list[str]]:
    """Everything a customer and an operator do; the voiceId of the call and the secrets involved."""
    account = served.admin_json("account", "create", "--balance", "10")
    api_key, api_secret = str(account["apiKey"]), str(account["apiSecret"])
    app_id = str(served.admin_json("app", "create", "--api-key", api_key)["appId"])
    async with AsyncClient(served.base_url, api_key, api_secret) as client:
        await client.sip_add(app_id, "deskGroup", "desk", 2, "861000000")
        desks = (await client.sip_query(app_id)).records
        phone = VirtualPhone(("127.0.0.1", served.sip_port), desks[0].account, desks[0].password)
        await phone.start()
        try:
            voice_id = await client.send_sip(app_id, desks[0].account, CALLEE, "1008122211", "log test")
            deadline = time.monotonic() + 20
            while (await client.record_sip(voice_id)).hangup_time is None:
                assert time.monotonic() < deadline, served.log.read_text()[-3000:]
                await asyncio.sleep(0.2)
        finally:
            await phone.stop()
    timestamp = str(int(time.time()))
    sign = compute_sign(api_key, api_secret, timestamp)
    signed = {"Api-Key": api_key, "Timestamp": timestamp, "Sign": sign}
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        assert (await http.post("/voice/sipQuery", json={"current": 1, "size": 5}, headers=signed)).is_success
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "sipline_call_attempts_total 1.0" in scraped.text
        admin = await http.get("/admin/accounts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert admin.status_code == 200
    return voice_id, [api_secret, sign, ADMIN_TOKEN, METRICS_TOKEN, *(desk.password for desk in desks)]


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_log_formats(tmp_path: Path, database_url: str, log_format: str) -> None:
    served = Served(tmp_path, database_url)
    served.env |= {
        "SIPLINE_LOG_FORMAT": log_format,
        "SIPLINE_ACCESS_LOG": "true",
        "SIPLINE_METRICS_TOKEN": METRICS_TOKEN,
    }
    served.start()
    try:
        voice_id, secrets = await call_through(served)
    finally:
        served.stop()
    log = served.log.read_text()
    for secret in secrets:
        assert secret not in log
    lines = log.splitlines()
    if log_format == "json":
        entries = [json.loads(line) for line in lines]  # every line is one object
        check_json(entries, voice_id)
    else:
        check_text(lines, voice_id)


def check_json(entries: list[dict[str, object]], voice_id: str) -> None:
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert "+" in str(entry["time"])[19:] or str(entry["time"]).endswith("Z")  # has an offset
    of_call = [e for e in entries if voice_id in str(e["message"]) and e["logger"] != "sipline.access"]
    assert len(of_call) >= 2  # ringing the phone ... ended
    assert all(entry.get("voiceId") == voice_id for entry in of_call), of_call
    access = [e for e in entries if e["logger"] == "sipline.access"]
    send = [e for e in access if e["path"] == "/voice/sendSip"]
    assert len(send) == 1 and send[0]["method"] == "POST" and send[0]["status"] == 200
    assert send[0]["voiceId"] == voice_id and isinstance(send[0]["latencyMs"], float)
    assert {"/voice/sipAdd", "/voice/sipQuery", "/metrics", f"/voice/recordSip/{voice_id}"} <= {
        str(e["path"]) for e in access
    }
    others = [e for e in entries if "voiceId" in e and e["voiceId"] != voice_id]
    assert others == []


def check_text(lines: list[str], voice_id: str) -> None:
    of_call = [line for line in lines if voice_id in line and "sipline.access" not in line]
    assert len(of_call) >= 2
    assert all(f"[{voice_id}] " in line for line in of_call), of_call
    assert any("sipline.access: " in line and " POST /voice/sendSip 200 " in line for line in lines)
