"""The customer commands against a real `sipline serve`: phones, call --wait, records; and without one."""

import json
import os
import re
import subprocess
from typing import Any

import pytest

from tests.cli.conftest import Cli, table
from tests.conftest import free_port
from tests.e2e.conftest import SIPLINE

pytestmark = pytest.mark.slow

CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z]*)*$")
SDK_COMMANDS = [
    ("phones", "list"),
    ("phones", "add", "--group", "salesDesk", "--name", "sales", "--display-num", "861000000"),
    ("phones", "reset", "--account", "1000000001"),
    ("call", "--account", "1000000001", "--callee", "442079469001", "--display-num", "1008122211"),
    ("records", "get", "2612011200000000001"),
    ("records", "list"),
]


def nowhere() -> tuple[str, Cli]:
    url = f"http://127.0.0.1:{free_port()}"
    return url, Cli(
        {"SIPLINE_BASE_URL": url, "SIPLINE_API_KEY": "k", "SIPLINE_API_SECRET": "s", "SIPLINE_APP_ID": "a"}
    )


@pytest.mark.parametrize("args", SDK_COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_an_unreachable_api_is_one_clear_line(args: tuple[str, ...]) -> None:
    url, cli = nowhere()
    failed = cli.fails(*args)
    assert failed.stderr.startswith(
        f'Error: cannot reach the voice API at {url}: is "sipline serve" running?'
    )
    assert len(failed.stderr.splitlines()) == 1 and failed.stdout == ""


def test_an_unreachable_api_from_a_real_process() -> None:
    url, cli = nowhere()
    done = subprocess.run(
        [*SIPLINE, "phones", "list"], env=os.environ | cli.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f'Error: cannot reach the voice API at {url}: is "sipline serve" running?')
    assert "Traceback" not in done.stderr


def test_a_base_url_that_is_not_http_is_a_usage_error() -> None:
    _, cli = nowhere()
    failed = cli.fails("phones", "list", "--base-url", "127.0.0.1:8080", exit_code=2)
    assert "'127.0.0.1:8080' is not an http:// or https:// URL" in failed.stderr


def test_phones_list_shows_registration_and_user_agent(
    customer: Cli, registered_phone: dict[str, Any]
) -> None:
    customer.ok("phones", "add", "--group", "spareGroup", "--name", "spare", "--display-num", "861000000")
    listed = customer.json("phones", "list")
    assert all(CAMEL_CASE.match(key) for phone in listed for key in phone)
    assert set(listed[0]) == {
        "groupName", "phoneName", "account", "password", "displayNum", "registered", "registrationExpires",
        "userAgent",
    }  # fmt: skip
    rows = table(customer.ok("phones", "list"))
    assert [(row["phone"], row["registered"], row["userAgent"]) for row in rows] == [
        ("desk-1", "yes", "sipline virtual phone"),
        ("spare-1", "no", ""),  # blank, not None
    ]
    assert rows[0]["account"] == registered_phone["account"]
    assert rows[0]["password"] == registered_phone["password"]


def test_call_wait_shows_the_progress_then_records_get_and_list(
    customer: Cli, registered_phone: dict[str, Any]
) -> None:
    account = registered_phone["account"]
    talked = customer.ok(
        "call", "--account", account, "--callee", "442079469001", "--display-num", "1008122211", "--wait"
    )
    voice_id, *stages = talked.stderr.splitlines()
    assert re.fullmatch(r"voiceId \d{19}", voice_id)
    assert [stage.split("  ", 1)[1] for stage in stages] == [
        "phone desk-1 ringing",
        "phone answered; calling 442079469001",
        "442079469001 ringing",
        "442079469001 answered",
        "hung up after 1 s: 200 the callee hung up",
    ]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", stage.split("  ", 1)[0]) for stage in stages)
    shown = {line.split()[0]: line.split()[1:] for line in talked.stdout.splitlines()}
    assert shown["voiceId"] == [voice_id.split()[1]] and shown["terminationCode"] == ["200"]
    # every answered call is recorded: its recordingFileId is a UUID
    assert len(shown["recordingFileId"]) == 1 and "None" not in talked.stdout
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", shown["recordingFileId"][0]
    )

    busy = customer.run(
        "call", "--account", account, "--callee", "442079460486", "--display-num", "1008122211", "--wait",
        "--json",
    )  # fmt: skip
    assert busy.exit_code == 0, busy.output
    assert busy.stderr.splitlines()[-1].endswith("hung up: 486 Busy Here")
    assert " answered" not in busy.stderr.replace("phone answered", "")
    busy_record = json.loads(busy.stdout)
    assert busy_record["terminationCode"] == "486" and busy_record["answerTime"] is None
    assert all(CAMEL_CASE.match(key) for key in busy_record)

    first = voice_id.split()[1]
    got = customer.json("records", "get", first)
    assert got["voiceId"] == first and got["phoneName"] == "desk-1" and got["callDuration"] == 1
    assert customer.json("records", "get", busy_record["voiceId"]) == busy_record
    unknown = customer.fails("records", "get", "2612011200000000001")
    assert "[-22] voiceId 2612011200000000001 is not a call of this account" in unknown.stderr

    by_group = table(customer.ok("records", "list", "--group", "deskGroup"))
    assert [(row["voiceId"], row["phoneName"], row["terminationCode"]) for row in by_group] == [
        (busy_record["voiceId"], "desk-1", "486"),
        (first, "desk-1", "200"),
    ]
    assert by_group[0]["terminationReason"] == "Busy Here"
    assert customer.json("records", "list", "--phone", "desk-1") == [busy_record, got]
    assert table(customer.ok("records", "list", "--group", "otherGroup")) == []
    everything = customer.ok("records", "list")
    assert "sipGroupName" not in everything.stdout  # recordGroupQuery: no phone fields
    assert [row["voiceId"] for row in table(everything)] == [busy_record["voiceId"], first]
    grouped = customer.json("records", "list", "--size", "1")  # one record a page: still both
    assert [record["voiceId"] for record in grouped] == [busy_record["voiceId"], first]
    assert "voiceFileId" in grouped[0] and "sipGroupName" not in grouped[0]
    assert customer.json("records", "list", "--size", "1", "--page", "2")[0]["voiceId"] == first
    assert customer.json("records", "list", "--from", "2099-01-01T00:00:00+00:00", "--to", "2099-01-02") == []
    bad = customer.fails("records", "list", "--from", "yesterday", exit_code=2)
    assert "'yesterday' is not an ISO 8601 time" in bad.stderr

    # without --wait: the voiceId at once (the call goes on), as the API names it with --json
    started = customer.json(
        "call", "--account", account, "--callee", "442079469001", "--display-num", "1008122211"
    )
    assert list(started) == ["voiceId"] and re.fullmatch(r"\d{19}", started["voiceId"])
