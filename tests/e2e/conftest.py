"""A real `sipline serve` process on free loopback ports, driven over real HTTP."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port

SIPLINE = [sys.executable, "-m", "sipline"]


@dataclass
class Served:
    base_url: str
    data_dir: Path
    env: dict[str, str]
    log: Path

    def sipline(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SIPLINE, *args], env=self.env, capture_output=True, text=True, timeout=60, check=check
        )

    def admin_json(self, *args: str) -> dict[str, object]:
        result = self.sipline("admin", *args, "--json")
        return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    port = free_port()
    data_dir = tmp_path / "data"
    env = os.environ | {
        "SIPLINE_DATA_DIR": str(data_dir),
        "SIPLINE_DATABASE_URL": database_url,
        "SIPLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SIPLINE_LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*SIPLINE, "serve", "--http-port", str(port), "--sip-port", str(free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(f"{base_url}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield Served(base_url, data_dir, env, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
