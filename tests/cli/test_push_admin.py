"""`sipline admin app set-push ...` against a real `sipline serve`, and a report that outlives a
SIGKILL: settled before the kill, delivered by the next start to a receiver that was down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.cli.conftest import Cli, table
from tests.conftest import free_port
from tests.e2e.conftest import Served
from tests.events.receiver import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`sipline serve` pushing to loopback receivers, retrying on a fast schedule."""
    home = tmp_path_factory.mktemp("served")
    server = Served(home, f"sqlite:///{home / 'sipline.db'}")
    server.env |= {
        "SIPLINE_PUSH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "SIPLINE_PUSH_RETRY_SCHEDULE": "0,0.3,0.6,1,2,4,8,16",
        "SIPLINE_PUSH_POLL_INTERVAL": "0.1",
    }
    server.start()
    try:
        yield server
    finally:
        server.stop()


def outbox(operator: Cli, app_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = operator.json("admin", "app", "push-outbox", app_id)
    return entries


def test_a_report_settled_before_a_sigkill_is_delivered_after_the_restart(
    served: Served, customer: Cli, registered_phone: dict[str, Any]
) -> None:
    operator = Cli(dict(served.env))
    app_id = customer.env["SIPLINE_APP_ID"]
    receiver = Receiver(free_port())  # down for now
    config = operator.json("admin", "app", "set-push", app_id, receiver.url)
    assert set(config) == {"appId", "url", "secret"} and config["url"] == receiver.url
    record = customer.json(
        "call", "--account", registered_phone["account"], "--callee", "442079460404",
        "--display-num", "1008122211", "--wait",
    )  # fmt: skip
    assert record["terminationCode"] == "404"
    deadline = time.monotonic() + 15
    while not (entries := outbox(operator, app_id)) or entries[0]["attempts"] < 1:
        assert time.monotonic() < deadline, entries
        time.sleep(0.1)
    assert entries[0]["state"] in ("pending", "delivering") and entries[0]["voiceId"] == record["voiceId"]

    assert served.process is not None
    served.process.kill()  # SIGKILL: no shutdown at all
    served.process.wait(timeout=10)
    served.process = None
    receiver.start()
    try:
        served.start()
        deadline = time.monotonic() + 20
        while not receiver.delivered():
            assert time.monotonic() < deadline, served.log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        receiver.stop()
    [arrival] = receiver.delivered()
    report = Webhook(config["secret"]).verify(arrival.body, arrival.headers)
    assert report["voiceId"] == record["voiceId"] and report["terminationCode"] == "404"
    assert report["eventId"] == arrival.event_id == f"msg_{record['voiceId']}_3"
    deadline = time.monotonic() + 15
    while outbox(operator, app_id)[0]["state"] != "delivered":  # the outcome is written just after
        assert time.monotonic() < deadline
        time.sleep(0.1)
    log = operator.json("admin", "app", "push-log", app_id)
    assert log[0]["status"] == 204 and log[-1]["status"] is None and "ConnectError" in log[-1]["error"]
    assert [
        row["status"] for row in table(operator.ok("admin", "app", "push-log", app_id, "--limit", "1"))
    ] == ["204"]


def test_push_commands_show_rotate_choose_and_refuse_clearly(served: Served, customer: Cli) -> None:
    operator = Cli(dict(served.env))
    app_id = customer.env["SIPLINE_APP_ID"]
    url = f"http://127.0.0.1:{free_port()}/hook"
    missing = operator.fails("admin", "app", "push-show", app_id)
    assert f"[-22] appId {app_id} has no push URL (set-push sets one)" in missing.output
    first = operator.json("admin", "app", "set-push", app_id, url)
    assert first["secret"].startswith("whsec_")
    again = operator.json("admin", "app", "set-push", app_id, url, "--events", "report,ringing")
    assert again["secret"] == first["secret"]  # a set keeps the secret; rotation changes it

    shown = operator.json("admin", "app", "push-show", app_id)
    assert shown["events"] == ["report", "ringing"] and shown["disabledAt"] is None
    assert shown["previousSecretExpiresAt"] is None and shown["outbox"] == {}
    assert operator.json("admin", "app", "push-events", app_id, "answered")["events"] == ["answered"]

    rotated = operator.json("admin", "app", "rotate-secret", app_id, "--grace", "60")
    assert rotated["secret"] != first["secret"] and rotated["previousSecretExpiresAt"].endswith("+00:00")
    plain = operator.ok("admin", "app", "push-show", app_id).stdout
    assert rotated["secret"] in plain and "previousSecretExpiresAt" in plain

    for args, reason in [
        (("set-push", app_id, "http://169.254.169.254/"), "169.254.169.254 is a link-local address"),
        (("set-push", app_id, "ftp://example.com/"), "url: the push URL must be http:// or https://"),
        (("set-push", "noSuchApp", url), "[-22] appId 'noSuchApp' does not exist"),
        (("push-events", app_id, "report,hangup"), "events must be one or more of report, ringing, answered"),
        (("push-replay", app_id, "--event-id", "msg_1_3"), "eventId msg_1_3 is not an event of app"),
    ]:
        failed = operator.fails("admin", "app", *args)
        assert reason in failed.output and len(failed.output.splitlines()) == 1, failed.output
    assert operator.json("admin", "app", "push-replay", app_id) == {"queued": 0}
    assert table(operator.ok("admin", "app", "push-outbox", app_id)) == []
    assert json.loads(operator.ok("admin", "app", "push-outbox", app_id, "--json").stdout) == []
