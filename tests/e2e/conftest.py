"""A real `sipline serve` process on free loopback ports, driven over real HTTP and SIP."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port

SIPLINE = [sys.executable, "-m", "sipline"]
_START_ATTEMPTS = 5


class Served:
    """One platform (data directory and database) and the server process running it."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.http_port = free_port()
        self.sip_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "serve.log"
        inherited = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
        self.env = inherited | {  # (tables into a pipe are as wide as they need, whatever set $COLUMNS)
            "SIPLINE_DATA_DIR": str(self.data_dir),
            "SIPLINE_DATABASE_URL": database_url,
            "SIPLINE_ADMIN_TOKEN": ADMIN_TOKEN,
            "SIPLINE_LOG_LEVEL": "DEBUG",
            "SIPLINE_DIRECTORY_POLL_INTERVAL": "0.1",
            # The tests' SIPp carriers are scripted for INVITEs and end after -m calls: an OPTIONS ping
            # would count as one. Tests of the pings turn them on (tests/browser/test_trunks.py).
            "SIPLINE_TRUNK_PING_INTERVAL": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.launcher: list[str] = []  # a command the server runs under, e.g. prlimit

    def start(self) -> None:
        """Start and wait until the API answers; ports taken since they were picked are picked again."""
        for _attempt in range(_START_ATTEMPTS):
            if self._start_once():
                return
            self.http_port, self.sip_port = free_port(), free_port()
            self.base_url = f"http://127.0.0.1:{self.http_port}"
        raise AssertionError(f"no free ports in {_START_ATTEMPTS} tries: {self.log.read_text()[-3000:]}")

    def _start_once(self) -> bool:
        """True once serving; False if it could not listen on a picked port (its one-line message)."""
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    *self.launcher,
                    *SIPLINE,
                    "serve",
                    "--http-port",
                    str(self.http_port),
                    "--sip-port",
                    str(self.sip_port),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                last = self.log.read_text().splitlines()[-1:]
                assert last and last[0].startswith("sipline: cannot listen for "), self.log.read_text()
                return False
            try:
                httpx.get(f"{self.base_url}/openapi.json", timeout=1)
                if self.process.poll() is None:  # ours answered, not another program on a taken port
                    return True
            except httpx.TransportError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            assert self.process.wait(timeout=15) == 0, self.log.read_text()[-3000:]
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process = None

    def sipline(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SIPLINE, *args], env=self.env, capture_output=True, text=True, timeout=60, check=check
        )

    def admin_json(self, *args: str) -> dict[str, object]:
        result = self.sipline("admin", *args, "--json")
        return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    server = Served(tmp_path, database_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()
