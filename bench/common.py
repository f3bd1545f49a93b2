"""Helpers shared by the benchmarks: free loopback ports, waiting for a server, CPU pinning, and a
`sipline serve` with phones made through its API."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from sipline.domain.signing import compute_sign


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Return once `url` answers; stop the benchmark if the server exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def pinned(command: list[str], cpu: str) -> list[str]:
    """Run `command` on one CPU (taskset), so server and load generator do not share a core."""
    return ["taskset", "-c", cpu, *command] if shutil.which("taskset") else command


@dataclass
class ServedPlatform:
    base_url: str
    sip_port: int
    api_key: str
    api_secret: str
    app_id: str
    users: dict[str, str]  # SIP account -> password
    data_dir: Path

    def headers(self) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "Api-Key": self.api_key,
            "Timestamp": timestamp,
            "Sign": compute_sign(self.api_key, self.api_secret, timestamp),
        }


@contextmanager
def served_platform(
    workdir: Path, phones: int, extra_env: dict[str, str] | None = None, balance: str = "0"
) -> Iterator[ServedPlatform]:
    """`sipline serve` pinned to CPU 0 (SQLite) with `phones` phones created through its API."""
    env = os.environ | {"SIPLINE_DATA_DIR": str(workdir / "sipline"), "SIPLINE_LOG_LEVEL": "WARNING"}
    env |= extra_env or {}
    env.pop("SIPLINE_DATABASE_URL", None)
    sipline = [sys.executable, "-m", "sipline"]

    def admin(*args: str) -> dict[str, str]:
        done = subprocess.run(
            [*sipline, "admin", *args, "--json"], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    account = admin("account", "create", "--balance", balance)
    app_id = admin("app", "create", "--api-key", account["apiKey"], "--phone-limit", str(phones))["appId"]
    http_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    server = subprocess.Popen(
        pinned([*sipline, "serve", "--http-port", str(http_port), "--sip-port", str(sip_port)], "0"), env=env
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        wait_http(f"{base}/openapi.json", server)
        platform = ServedPlatform(
            base, sip_port, account["apiKey"], account["apiSecret"], app_id, {}, workdir / "sipline"
        )
        for group in range(phones // 50):
            body = {
                "groupName": f"bench{group:03d}",
                "phoneName": f"b{group:03d}",
                "quantity": 50,
                "displayNum": "861000000",
                "appId": app_id,
            }
            answer = httpx.post(f"{base}/voice/sipAdd", json=body, headers=platform.headers()).json()
            assert answer["status"] == "0", answer
        for page in range(1, phones // 100 + 1):
            query = {"current": page, "size": 100, "params": {"appId": app_id}}
            answer = httpx.post(f"{base}/voice/sipQuery", json=query, headers=platform.headers()).json()
            for phone in answer["data"]["records"]:
                platform.users[phone["account"]] = phone["password"]
        yield platform
    finally:
        server.terminate()
        server.wait(30)


def sipp_users_csv(users: dict[str, str], path: Path) -> Path:
    """The users file of SIPp's REGISTER scenario: account; password; [authentication ...]."""
    lines = ["SEQUENTIAL"] + [f"{u};{p};[authentication username={u} password={p}]" for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def sipp_counter(screen: str, name: str) -> int:
    """A cumulative counter ("Successful call", "Failed call") from SIPp's final screen."""
    matches = re.findall(rf"{name}\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return int(matches[-1]) if matches else -1
