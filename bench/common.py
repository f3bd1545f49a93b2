"""Helpers shared by the benchmarks: free loopback ports, waiting for a server, CPU pinning."""

import shutil
import socket
import subprocess
import time

import httpx


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
