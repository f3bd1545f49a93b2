"""The vendor's PHP client samples from the seeds, run unchanged against `sipline serve`.

Only what the samples leave to the user is filled in: the base URL, the credentials and the
{{placeholders}}. Java samples need hutool from Maven Central, which this environment cannot reach.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.api.test_golden_seeds import seed_text
from tests.e2e.conftest import Served
from tests.peers import require

pytestmark = [pytest.mark.interop, pytest.mark.slow]
VENDOR_BASE = "https://api.itniotech.com"


def php_sample(endpoint: str) -> str:
    text = seed_text(endpoint)
    start = text.index("header('content-type:text/html;charset=utf8');")
    end = text.index("var_dump($output);", start) + len("var_dump($output);")
    return text[start:end]


def run_php(
    served: Served, tmp_path: Path, endpoint: str, api_key: str, api_secret: str, values: dict[str, str]
) -> dict[str, object]:
    php = require("php")
    source = php_sample(endpoint).replace(VENDOR_BASE, served.base_url)
    source = source.replace('"your api key"', json.dumps(api_key)).replace(
        '"your api secret"', json.dumps(api_secret)
    )
    source = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], source)
    script = tmp_path / f"{endpoint}.php"
    script.write_text("<?php\n" + source + "\n")
    output = subprocess.run([php, str(script)], capture_output=True, text=True, timeout=60, check=True).stdout
    match = re.search(r'string\(\d+\) "(.*)"', output, re.S)
    assert match, output
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_php_samples_work_unchanged(served: Served, tmp_path: Path) -> None:
    account = served.admin_json("account", "create")
    key, secret = str(account["apiKey"]), str(account["apiSecret"])
    app_id = str(served.admin_json("app", "create", "--api-key", key)["appId"])
    values = {
        "appId": app_id,
        "groupName": "phpGroup",
        "phoneName": "php",
        "quantity": "30",
        "displayNum": "861000000",
        "current": "1",
        "size": "20",
    }

    added = run_php(served, tmp_path, "sipAdd", key, secret, values)
    assert added == {"status": "0", "reason": "success", "data": None}

    queried = run_php(served, tmp_path, "sipQuery", key, secret, values)
    assert queried["status"] == "0"
    data = queried["data"]
    assert isinstance(data, dict)
    assert (data["total"], data["size"], data["current"], data["pages"]) == (30, 20, 1, 2)
    assert data["records"][0]["phoneName"] == "php-1"

    again = run_php(served, tmp_path, "sipAdd", key, secret, values)
    assert again["status"] == "-20"
