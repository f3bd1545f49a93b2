"""Helpers shared by the benchmarks: free loopback ports, waiting for a server, CPU pinning, a
`sipline serve` with phones made through its API, SIPp peers registering and answering them, and a
small HTTP/1.1 client sending sendSip at a fixed rate."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sipline.domain.signing import compute_sign

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
REGISTER = Path(__file__).resolve().parent / "sip" / "reg_client_auth.xml"
CALLEE = "442079460001"


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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


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
    pid: int = 0  # of the server process (taskset execs it: the same process)

    def headers(self) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "Api-Key": self.api_key,
            "Timestamp": timestamp,
            "Sign": compute_sign(self.api_key, self.api_secret, timestamp),
        }


@contextmanager
def served_platform(
    workdir: Path,
    phones: int,
    extra_env: dict[str, str] | None = None,
    balance: str = "0",
    database_url: str | None = None,
) -> Iterator[ServedPlatform]:
    """`sipline serve` pinned to CPU 0 with `phones` phones created through its API; on SQLite in
    `workdir` unless `database_url` says otherwise."""
    env = os.environ | {"SIPLINE_DATA_DIR": str(workdir / "sipline"), "SIPLINE_LOG_LEVEL": "WARNING"}
    env["SIPLINE_TRUNK_PING_INTERVAL"] = "0"  # the SIPp carriers count an OPTIONS as one of their -m calls
    env |= extra_env or {}
    env.pop("SIPLINE_DATABASE_URL", None)
    if database_url is not None:
        env["SIPLINE_DATABASE_URL"] = database_url
    sipline = [sys.executable, "-m", "sipline"]

    def admin(*args: str) -> dict[str, str]:
        done = subprocess.run(
            [*sipline, "admin", *args, "--json"], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    account = admin("account", "create", "--init", "--balance", balance)  # a new platform in workdir
    app_id = admin("app", "create", "--api-key", account["apiKey"], "--phone-limit", str(phones))["appId"]
    http_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    server = subprocess.Popen(
        pinned([*sipline, "serve", "--http-port", str(http_port), "--sip-port", str(sip_port)], "0"), env=env
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        wait_http(f"{base}/openapi.json", server)
        platform = ServedPlatform(
            base,
            sip_port,
            account["apiKey"],
            account["apiSecret"],
            app_id,
            {},
            workdir / "sipline",
            server.pid,
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
        for page in range(1, -(-phones // 100) + 1):  # every page, the last one part-full too
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


class SippPeer:
    """SIPp on CPU 1 running a scenario for exactly `calls` calls; `finish()` returns its final screen."""

    def __init__(self, args: list[str], workdir: Path, timeout: float) -> None:
        command = [
            SIPP,
            *args,
            "-nostdin",
            "-buff_size",
            "4194304",
            "-timeout",
            str(int(timeout)),
            "-timeout_error",
        ]
        self.process = subprocess.Popen(
            pinned(command, "1"), cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(self, timeout: float | None = None) -> str:
        """Its final screen once it has ended (stopped first if it runs past `timeout` seconds)."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            out, _ = self.process.communicate()
        return out


def register_phones(platform: ServedPlatform, phones_port: int, workdir: Path) -> None:
    csv = sipp_users_csv(platform.users, workdir / "users.csv")
    done = subprocess.run(
        [SIPP, f"127.0.0.1:{platform.sip_port}", "-sf", str(REGISTER), "-inf", str(csv), "-i", "127.0.0.1",
         "-p", str(phones_port), "-m", str(len(platform.users)), "-r", "200", "-nostdin", "-timeout", "60",
         "-timeout_error"],
        cwd=workdir, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if sipp_counter(done.stdout, "Successful call") != len(platform.users):
        raise SystemExit("the phones did not all register:\n" + done.stdout[-2000:])


class ApiConnection:
    """One keep-alive HTTP/1.1 connection, written by hand: an HTTP client library costs more CPU per
    request than the server under test spends, and this client shares its core with SIPp."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base_url: str) -> ApiConnection:
        host, port = base_url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        payload = json.dumps(body).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        response_head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", response_head).group(1))  # type: ignore[union-attr]
        answer: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        return answer

    def close(self) -> None:
        self.writer.close()


async def drive(
    platform: ServedPlatform, phones: Iterator[str], rate: int, seconds: float, callee: str = CALLEE
) -> tuple[int, int, float, list[float]]:
    """sendSip at `rate` per second for `seconds`, phones in turn.

    Returns (attempted, accepted, seconds taken to issue them, latencies from each scheduled send).
    """
    total = round(rate * seconds)
    accepted = 0
    refusals: Counter[str] = Counter()
    latencies: list[float] = []
    due: asyncio.Queue[float | None] = asyncio.Queue()
    connections = [await ApiConnection.open(platform.base_url) for _ in range(32)]
    loop = asyncio.get_running_loop()

    async def worker(connection: ApiConnection) -> None:
        nonlocal accepted
        while (scheduled := await due.get()) is not None:
            body = {
                "callee": callee,
                "displayNum": "1008122211",
                "account": next(phones),
                "appId": platform.app_id,
            }
            answer = await connection.post("/voice/sendSip", body, platform.headers())
            latencies.append(loop.time() - scheduled)
            if answer["status"] == "0":
                accepted += 1
            else:
                refusals[f"{answer['status']} {answer['reason']}"[:48]] += 1

    workers = [asyncio.create_task(worker(connection)) for connection in connections]
    start = loop.time()
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait(scheduled)
    elapsed = loop.time() - start
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    for connection in connections:
        connection.close()
    for reason, count in refusals.most_common(3):
        print(f"  {count} sendSip refused: {reason}", file=sys.stderr)
    return total, accepted, elapsed, sorted(latencies)
