"""Schemathesis against a running `sipline serve`: generated requests, valid and invalid, to every
voice route, correctly signed, answer in the envelope: never a 5xx and never `-18`."""

import collections
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error

from sipline.domain.signing import compute_sign
from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import Served

# Per operation and generation mode: a few hundred requests in all, well under a minute.
# FUZZ_EXAMPLES=300 explores further (about 5 minutes; the test's timeout must be raised for it).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@schemathesis.check
def in_the_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    payload = response.json()
    # getBalance answers the vendor's account API shape: its fields beside status, no data (api.md)
    balance = case.operation.path == "/voice/getBalance" and payload.get("status") == "0"
    fields = {"status", "reason", "balance", "gift", "credit"} if balance else {"status", "reason", "data"}
    assert isinstance(payload, dict) and set(payload) == fields, payload
    assert isinstance(payload["status"], str) and isinstance(payload["reason"], str), payload
    assert payload["status"] != "-18", payload  # a system error: something the API did not expect
    return None


def signer(api_key: str, api_secret: str) -> type:
    class Signed:
        """Api-Key, Timestamp and Sign = md5(apiKey + apiSecret + Timestamp), fresh for each request."""

        def get(self, case: Case, ctx: schemathesis.AuthContext) -> str:
            return api_secret

        def set(self, case: Case, data: str, ctx: schemathesis.AuthContext) -> None:
            timestamp = str(int(time.time()))
            case.headers = {
                **(case.headers or {}),
                "Api-Key": api_key,
                "Timestamp": timestamp,
                "Sign": compute_sign(api_key, data, timestamp),
            }

    return Signed


def with_real_references(body: Any, app_id: str) -> Any:
    """The app and a record window that exist, so that valid bodies get past the lookups to the queries."""
    if not isinstance(body, dict):
        return body
    now = datetime.now(UTC)
    real = {"appId": app_id, "strTime": (now - timedelta(days=1)).isoformat(), "endTime": now.isoformat()}
    for part in (body, body.get("params")):
        if isinstance(part, dict):
            part.update({key: value for key, value in real.items() if key in part})
    return body


@pytest.mark.slow
def test_generated_requests_answer_in_the_envelope(served: Served) -> None:
    admin = httpx.Client(base_url=served.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    account = admin.post("/admin/accounts", json={"balance": "50"}).json()["data"]
    app_id = admin.post("/admin/apps", json={"apiKey": account["apiKey"]}).json()["data"]["appId"]
    schema = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json").include(path_regex="^/voice/")
    schema.auth(refresh_interval=None)(signer(account["apiKey"], account["apiSecret"]))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13  # the vendor's 9; sipline's ledgerQuery, sipDelete, hangup, getPushConfig
    answered: collections.Counter[tuple[str, str]] = collections.Counter()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode, served.base_url, app_id, answered)

    # The valid requests got through to the database queries, not only to the parameter checks.
    for label in (
        "POST /voice/sipQuery",
        "POST /voice/recordGroupQuery",
        "POST /voice/recordSipQuery",
        "GET /voice/getBalance",
        "GET /voice/ledgerQuery",
    ):
        assert answered[label, "0"] > 0, answered


def exercise(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    app_id: str,
    answered: collections.Counter[tuple[str, str]],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def answers_in_the_envelope(case: Case) -> None:
        assert {"Api-Key", "Timestamp", "Sign"} <= set(case.headers or {})
        if mode is GenerationMode.POSITIVE:
            case.body = with_real_references(case.body, app_id)
        response = case.call_and_validate(base_url=base_url, checks=[not_a_server_error, in_the_envelope])
        answered[case.operation.label, response.json()["status"]] += 1

    answers_in_the_envelope()
