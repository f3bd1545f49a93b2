"""Phones created through the API register over real SIP to `sipline serve`."""

import asyncio
import subprocess
from pathlib import Path

import pytest

from sipline.client import AsyncClient, Phone
from tests.e2e.conftest import SIPLINE, Served
from tests.sip.baresip import Baresip, wait_for
from tests.sip.conftest import BARESIP, need
from tests.sip.peer import RawPeer

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def provision(
    served: Served, quantity: int = 2, balance: str = "0"
) -> tuple[AsyncClient, str, list[Phone]]:
    account = served.admin_json("account", "create", "--balance", balance)
    app_id = str(served.admin_json("app", "create", "--api-key", str(account["apiKey"]))["appId"])
    client = AsyncClient(served.base_url, str(account["apiKey"]), str(account["apiSecret"]))
    await client.sip_add(app_id, "deskGroup", "desk", quantity, "861000000")
    return client, app_id, (await client.sip_query(app_id)).records


async def phone_state(client: AsyncClient, app_id: str, account: str) -> Phone:
    return next(p for p in (await client.sip_query(app_id)).records if p.account == account)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_baresip_registers_with_sip_query_credentials(
    served: Served, tmp_path: Path, transport: str
) -> None:
    need(BARESIP)
    client, app_id, phones = await provision(served)
    desk = phones[0]
    assert desk.extra == {"registered": False, "registrationExpires": None, "userAgent": None}
    suffix = ";transport=tcp" if transport == "tcp" else ""
    phone = Baresip(
        tmp_path / "desk",
        f"<sip:{desk.account}@127.0.0.1:{served.sip_port}{suffix}>;auth_pass={desk.password};"
        "answermode=auto;regint=300",
    )
    await phone.start()
    try:

        async def registered() -> bool:
            return bool((await phone_state(client, app_id, desk.account)).extra["registered"])

        assert await wait_for(registered, 10), phone.log() + served.log.read_text()[-2000:]
        state = (await phone_state(client, app_id, desk.account)).extra
        assert "baresip" in state["userAgent"]
        assert state["registrationExpires"] is not None and state["registrationExpires"].endswith("+00:00")
        other = await phone_state(client, app_id, phones[1].account)
        assert other.extra["registered"] is False
    finally:
        await phone.kill()
        await client.aclose()


async def test_reset_and_lock_apply_at_the_next_registration(served: Served) -> None:
    client, app_id, phones = await provision(served, 1)
    desk = phones[0]
    peer = await RawPeer(served.sip_port).open()
    try:
        response, _ = await peer.register(desk.account, desk.password, expires=300)
        assert response is not None and response.status == 200

        new_password = await client.sip_reset(app_id, desk.account)
        response, _ = await peer.register(desk.account, desk.password, expires=300)
        assert response is not None and response.status == 403
        response, _ = await peer.register(desk.account, new_password, expires=300)
        assert response is not None and response.status == 200

        api_key = client._api_key
        served.sipline("admin", "account", "lock", api_key)
        await asyncio.sleep(0.5)  # the server notices within directory_poll_interval (0.1 s here)
        response, _ = await peer.register(desk.account, new_password, expires=300)
        assert response is not None and response.status == 403
        served.sipline("admin", "account", "unlock", api_key)
        await asyncio.sleep(0.5)
        response, _ = await peer.register(desk.account, new_password, expires=300)
        assert response is not None and response.status == 200
    finally:
        await peer.close()
        await client.aclose()


async def test_registrations_survive_a_restart(served: Served) -> None:
    client, app_id, phones = await provision(served, 2)
    peer = await RawPeer(served.sip_port, "udp").open()
    try:
        response, _ = await peer.register(phones[0].account, phones[0].password, expires=600)
        assert response is not None and response.status == 200
        before = (await phone_state(client, app_id, phones[0].account)).extra
        assert before["registered"] is True
    finally:
        await peer.close()
    served.stop()
    served.start()
    after = (await phone_state(client, app_id, phones[0].account)).extra
    assert after == before
    assert (await phone_state(client, app_id, phones[1].account)).extra["registered"] is False
    await client.aclose()


async def test_unknown_user_and_wrong_password_get_the_same_answer(served: Served) -> None:
    _client, _app_id, phones = await provision(served, 1)
    peer = await RawPeer(served.sip_port).open()
    try:
        wrong, _ = await peer.register(phones[0].account, "wrongpass", expires=300)
        unknown, _ = await peer.register("1999999999", "wrongpass", expires=300)
        assert wrong is not None and unknown is not None
        assert (wrong.status, wrong.reason) == (unknown.status, unknown.reason) == (403, wrong.reason)
    finally:
        await peer.close()
        await _client.aclose()


async def test_digest_algorithms_setting_reaches_the_registrar(tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path, database_url)
    served.env["SIPLINE_DIGEST_ALGORITHMS"] = "SHA-256,MD5"
    served.start()
    try:
        client, _, phones = await provision(served, 1)
        await client.aclose()
        desk = phones[0]
        peer = await RawPeer(served.sip_port).open()
        try:
            challenge, _ = await peer.register(desk.account, None)
            assert challenge is not None and challenge.status == 401
            offered = challenge.headers("WWW-Authenticate")
            assert ["algorithm=SHA-256" in c for c in offered] == [True, False]
            assert "algorithm=MD5" in offered[1]
            response, _ = await peer.register(desk.account, desk.password, algorithm="SHA-256", expires=300)
            assert response is not None and response.status == 200
        finally:
            await peer.close()
    finally:
        served.stop()


def test_bad_digest_algorithms_stop_the_start(tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path, database_url)
    result = subprocess.run(
        [*SIPLINE, "serve", "--http-port", str(served.http_port), "--sip-port", str(served.sip_port)],
        env=served.env | {"SIPLINE_DIGEST_ALGORITHMS": "SHA-256,SHA-512"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "digest_algorithms" in result.stderr and "unknown digest algorithm 'SHA-512'" in result.stderr
    assert "Traceback" not in result.stderr
