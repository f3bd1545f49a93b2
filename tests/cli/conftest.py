"""The `sipline` command run in-process with click's CliRunner: its output and exit codes as a user sees them.

Admin commands work on a database directly, so they run against a data directory of the test's own;
the customer commands talk to the voice API of a real `sipline serve` process (tests/e2e/conftest.py).
"""

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sipline.cli.main import cli
from tests.e2e.conftest import SIPLINE, Served

# A wide pseudo-terminal: the tables' rows stay on one line whatever the host's terminal is.
WIDE = {"COLUMNS": "250"}


class Cli:
    """`sipline ARGS` in-process with this environment; `ok` asserts success, `fails` a clean failure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str, columns: str | None = WIDE["COLUMNS"]) -> Result:
        """`columns` None: as into a pipe or a file (CliRunner's output is never a terminal)."""
        env: dict[str, str | None] = {**self.env, "COLUMNS": columns}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args: str, exit_code: int = 1) -> Result:
        result = self.run(*args)
        assert result.exit_code == exit_code, result.output
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


def table(result: Result) -> list[dict[str, str]]:
    """A table's rows as {header: cell}, cut at the columns where the headers start."""
    header, rule, *rows = result.stdout.splitlines()
    assert set(rule) <= {"─", " "}, result.stdout
    columns = list(re.finditer(r"\S+", header))
    names = [column.group() for column in columns]
    starts = [column.start() for column in columns]
    bounds = [*starts[1:], None]
    return [
        {name: row[start:end].strip() for name, start, end in zip(names, starts, bounds, strict=True)}
        for row in rows
    ]


@pytest.fixture
def admin(tmp_path: Path, database_url: str) -> Cli:
    """Admin commands on a platform of this test's own (data directory created by --init)."""
    return Cli({"SIPLINE_DATA_DIR": str(tmp_path / "data"), "SIPLINE_DATABASE_URL": database_url})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `sipline serve` for the module (SQLite): each test makes an account of its own on it."""
    home = tmp_path_factory.mktemp("served")
    server = Served(home, f"sqlite:///{home / 'sipline.db'}")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def customer(served: Served) -> Cli:
    """The customer commands, with a new account (balance 5) and app on the served platform in the env."""
    return new_customer(served)


def new_customer(served: Served) -> Cli:
    operator = Cli(dict(served.env))
    account = operator.json("admin", "account", "create", "--balance", "5")
    app = operator.json("admin", "app", "create", "--api-key", account["apiKey"])
    return Cli(
        served.env
        | {
            "SIPLINE_BASE_URL": served.base_url,
            "SIPLINE_API_KEY": account["apiKey"],
            "SIPLINE_API_SECRET": account["apiSecret"],
            "SIPLINE_APP_ID": app["appId"],
        }
    )


@pytest.fixture
def registered_phone(served: Served, customer: Cli) -> Iterator[dict[str, Any]]:
    """A phone of the customer's, registered by a `sipline phone` process that answers every call."""
    created = customer.json(
        "phones", "add", "--group", "deskGroup", "--name", "desk", "--display-num", "1008122211"
    )[0]
    process = subprocess.Popen(
        [*SIPLINE, "phone", "--account", created["account"], "--password", created["password"],
         "--server", f"127.0.0.1:{served.sip_port}", "--answer-after", "0.2"],
        env=os.environ | served.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not customer.json("phones", "list")[0]["registered"]:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        yield created
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=15)
    assert process.returncode == 0, out
