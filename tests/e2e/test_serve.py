"""`sipline serve` end to end: admin CLI, sync SDK, phones CLI, OpenAPI, logs free of secrets."""

import json
import socket
from pathlib import Path

import httpx
import pytest

from sipline.client import Client, SiplineError
from tests.e2e.conftest import Served

pytestmark = pytest.mark.slow


def test_operator_and_customer_flow(served: Served) -> None:
    account = served.admin_json("account", "create", "--balance", "25.5", "--name", "Acme")
    api_key, api_secret = str(account["apiKey"]), str(account["apiSecret"])
    app_id = str(served.admin_json("app", "create", "--api-key", api_key, "--phone-limit", "100")["appId"])

    with Client(served.base_url, api_key, api_secret) as client:
        client.sip_add(app_id, "salesDesk", "sales", 3, "861000000")
        phones = list(client.iter_phones(app_id))
        assert [p.phone_name for p in phones] == ["sales-1", "sales-2", "sales-3"]
        with pytest.raises(SiplineError) as caught:
            client.sip_add(app_id, "salesDesk", "sales", 3, "861000000")
        assert caught.value.status == "-20"

    creds = {
        **served.env,
        "SIPLINE_BASE_URL": served.base_url,
        "SIPLINE_API_KEY": api_key,
        "SIPLINE_API_SECRET": api_secret,
        "SIPLINE_APP_ID": app_id,
    }
    served.env.update(creds)
    listed = json.loads(served.sipline("phones", "list", "--json").stdout)
    assert [p["account"] for p in listed] == [p.account for p in phones]
    table = served.sipline("phones", "list").stdout.splitlines()
    assert table[0].split() == [
        "group", "phone", "account", "password", "displayNum", "registered", "userAgent",
    ]  # fmt: skip
    assert len(table) == 2 + 3

    added = json.loads(
        served.sipline(
            "phones",
            "add",
            "--group",
            "supportDesk",
            "--name",
            "support",
            "--quantity",
            "2",
            "--display-num",
            "8613800000",
            "--json",
        ).stdout
    )
    assert [p["phoneName"] for p in added] == ["support-1", "support-2"]

    reset = json.loads(served.sipline("phones", "reset", "--account", phones[0].account, "--json").stdout)
    assert reset["account"] == phones[0].account and reset["password"] != phones[0].password

    failed = served.sipline(
        "phones", "add", "--group", "supportDesk", "--name", "x", "--display-num", "123", check=False
    )
    assert failed.returncode != 0
    assert "[-22] displayNum" in failed.stderr

    served.sipline("admin", "account", "lock", api_key)
    locked = served.sipline("phones", "list", check=False)
    assert "[-13]" in locked.stderr
    shown = served.admin_json("account", "show", api_key)
    assert shown["locked"] is True and shown["balance"] == "25.5000"

    log = served.log.read_text()
    for secret in [api_secret, reset["password"], *(p.password for p in phones)]:
        assert secret not in log


def test_openapi_documents_the_voice_api(served: Served) -> None:
    spec = httpx.get(f"{served.base_url}/openapi.json").json()
    for path in ("/voice/sipAdd", "/voice/sipQuery", "/voice/sipReset", "/admin/accounts"):
        assert path in spec["paths"]


def test_raw_http_errors_are_envelopes(served: Served) -> None:
    response = httpx.post(f"{served.base_url}/voice/sipAdd", content=b"{}")
    assert response.status_code == 200
    assert response.json() == {
        "status": "-1",
        "reason": "missing header: Api-Key, Timestamp, Sign",
        "data": None,
    }
    response = httpx.get(f"{served.base_url}/nowhere")
    assert (response.status_code, response.json()["status"]) == (404, "-22")


def test_the_served_fixture_starts_again_when_its_port_was_taken(tmp_path: Path, database_url: str) -> None:
    # Another program took the picked HTTP port before `sipline serve` bound it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        server = Served(tmp_path, database_url)
        server.http_port = other.getsockname()[1]
        server.base_url = f"http://127.0.0.1:{server.http_port}"
        try:
            server.start()
            assert server.http_port != other.getsockname()[1]
            assert httpx.get(f"{server.base_url}/openapi.json").status_code == 200
            assert "sipline: cannot listen for HTTP" in server.log.read_text()
        finally:
            server.stop()
