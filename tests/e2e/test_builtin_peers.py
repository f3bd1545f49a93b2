"""The built-in peers from the command line: `sipline phone` registers and answers, `sipline call --wait`
invokes it through the voice API, the in-process sandbox carrier is the trunk; `sipline demo` does it all."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import SIPLINE, Served

pytestmark = [pytest.mark.slow]


def call_through_the_cli(served: Served, callee: str) -> dict[str, object]:
    """Make a phone with `sipline phones add`, register `sipline phone`, and `sipline call --wait`."""
    account = served.admin_json("account", "create", "--balance", "5")
    app_id = str(served.admin_json("app", "create", "--api-key", str(account["apiKey"]))["appId"])
    env = served.env | {
        "SIPLINE_BASE_URL": served.base_url,
        "SIPLINE_API_KEY": str(account["apiKey"]),
        "SIPLINE_API_SECRET": str(account["apiSecret"]),
        "SIPLINE_APP_ID": app_id,
    }

    def cli(*args: str) -> str:
        done = subprocess.run([*SIPLINE, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    phones = json.loads(
        cli(
            "phones", "add", "--group", "deskGroup", "--name", "desk", "--display-num", "1008122211", "--json"
        )
    )
    phone = subprocess.Popen(
        [*SIPLINE, "phone", "--account", phones[0]["account"], "--password", phones[0]["password"],
         "--server", f"127.0.0.1:{served.sip_port}", "--answer-after", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not json.loads(cli("phones", "list", "--json"))[0]["registered"]:
            assert phone.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        record: dict[str, object] = json.loads(
            cli("call", "--account", phones[0]["account"], "--callee", callee,
                "--display-num", "1008122211", "--wait", "--json")
        )  # fmt: skip
    finally:
        phone.terminate()
        out, _ = phone.communicate(timeout=15)
    assert phone.returncode == 0, out
    return record


def test_virtual_phone_and_call_from_the_command_line(served: Served) -> None:
    record = call_through_the_cli(served, "442079469001")  # the in-process sandbox: talks 1 s
    assert record["terminationCode"] == "200" and record["callDuration"] == 1
    assert record["phoneName"] == "desk-1" and record["code"] == "United Kingdom(London)"


def test_standalone_sandbox_carrier_as_the_trunk(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    carrier = subprocess.Popen(
        [*SIPLINE, "carrier", "--port", str(port), "--ring-seconds", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    served = Served(tmp_path, database_url)
    served.env |= {"SIPLINE_TRUNKS": f'{{"lab": "sip:127.0.0.1:{port}"}}', "SIPLINE_DEFAULT_TRUNK": "lab"}
    try:
        served.start()
        record = call_through_the_cli(served, "442079460486")  # the sandbox table: busy
    finally:
        served.stop()
        carrier.terminate()
        out, _ = carrier.communicate(timeout=15)
    assert carrier.returncode == 0, out
    assert f"sandbox carrier on sip:127.0.0.1:{port}" in out
    assert record["terminationCode"] == "486" and record["answerTime"] is None


def test_demo_places_a_call_and_prints_its_record(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SIPLINE, "demo", "--callee", "442079469001", "--data-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # the record's `field  value` lines; an empty value is blank
    fields = {
        words[0]: words[1] if len(words) > 1 else ""
        for words in (line.split(None, 1) for line in done.stdout.splitlines() if "  " in line)
    }
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", fields["recordingFileId"].strip())
    assert fields["terminationCode"].strip() == "200"
    assert fields["callDuration"].strip() == "1"
    assert fields["callee"].strip() == "442079469001"
