"""`sipline serve` under a 1,024 open-file limit, flooded with idle TCP connections: the SIP
connection cap leaves descriptors for the HTTP API, the database and UDP SIP, which keep
answering; silent connections are closed and TCP serves again afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sipline.client import Client
from tests.e2e.conftest import Served
from tests.peers import require
from tests.sip.test_transport import options

pytestmark = pytest.mark.slow

DESCRIPTORS = 1024
SILENCE = 15.0  # sip_tcp_handshake_timeout: long enough to check everything while the flood holds
FLOOD = 2000
PER_SOURCE = 50  # under the per-address cap, so the total cap is what stops the flood
BACKLOG = 900  # neither asyncio's default (100) nor uvicorn's (2048)
RTP_PORTS = (20000, 20199)  # 200 sockets with every pair in a call: the SIP cap leaves room for them


@pytest.fixture
def limited(tmp_path: Path, database_url: str) -> Iterator[Served]:
    """`sipline serve` started under prlimit --nofile=1024:1024, with a phone to query."""
    served = Served(tmp_path, database_url)
    served.launcher = [require("prlimit"), f"--nofile={DESCRIPTORS}:{DESCRIPTORS}", "--"]
    served.env |= {
        "SIPLINE_SIP_TCP_HANDSHAKE_TIMEOUT": str(SILENCE),
        "SIPLINE_SIP_TCP_IDLE_TIMEOUT": str(SILENCE),
        "SIPLINE_HTTP_MAX_CONNECTIONS": "64",
        "SIPLINE_LISTEN_BACKLOG": str(BACKLOG),
        "SIPLINE_RTP_PORT_MIN": str(RTP_PORTS[0]),
        "SIPLINE_RTP_PORT_MAX": str(RTP_PORTS[1]),
    }
    served.start()
    try:
        yield served
    finally:
        served.stop()


def open_connections(port: int, count: int, first_source: int = 10) -> list[socket.socket]:
    """``count`` TCP connections to 127.0.0.1:port, PER_SOURCE from each of 127.0.0.10, .11, ..."""
    sockets = []
    for number in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.bind((f"127.0.0.{first_source + number // PER_SOURCE}", 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def closed_by_server(sockets: list[socket.socket], wait: float) -> set[socket.socket]:
    """The sockets the server has closed (EOF or reset), waiting up to ``wait`` s for more."""
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + wait
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ, sock)
        while (remaining := deadline - time.monotonic()) > 0 and len(closed) < len(sockets):
            for key, _ in selector.select(remaining):
                sock = key.data
                with contextlib.suppress(ConnectionResetError):
                    assert sock.recv(1) == b""  # the server sends nothing unasked: readable is closed
                closed.add(sock)
                selector.unregister(sock)
    return closed


def udp_options(port: int, call_id: str) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        udp.sendto(options(call_id, 5099, "UDP"), ("127.0.0.1", port))
        return udp.recv(65536)


def tcp_options(port: int, call_id: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as tcp:
        tcp.sendall(options(call_id, 5099))
        return tcp.recv(65536)


def listen_backlog(port: int) -> int:
    """The backlog of the TCP listener on 127.0.0.1:port, as `ss` shows it (Send-Q)."""
    shown = subprocess.run(
        [require("ss"), "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    return int(shown[2])


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_tcp_flood_leaves_the_api_and_udp_answering(limited: Served) -> None:
    account = limited.admin_json("account", "create")
    api_key, api_secret = str(account["apiKey"]), str(account["apiSecret"])
    app_id = str(limited.admin_json("app", "create", "--api-key", api_key)["appId"])
    log = limited.log.read_text()
    cap = int(re.search(r"SIP TCP/TLS connections at most (\d+)", log).group(1))  # type: ignore[union-attr]
    assert f"soft limit {DESCRIPTORS} (hard {DESCRIPTORS})" in log
    assert cap == DESCRIPTORS - 64 - 200 - 128  # room left for HTTP (64 here), RTP and the database
    assert "RTP sockets 200" in log and "descriptors short" not in log

    assert listen_backlog(limited.sip_port) == listen_backlog(limited.http_port) == BACKLOG
    flood = open_connections(limited.sip_port, FLOOD)
    try:
        with Client(limited.base_url, api_key, api_secret) as client:
            client.sip_add(app_id, "floodDesk", "flood", 2, "861000000")  # writes to the database
            assert [p.phone_name for p in client.iter_phones(app_id)] == ["flood-1", "flood-2"]
        assert udp_options(limited.sip_port, "udp-1").startswith(b"SIP/2.0 200 ")
        assert limited.process is not None
        descriptors = open_descriptors(limited.process.pid)
        refused = closed_by_server(flood, wait=1)
        # The checks above ran while the admitted connections stood: none has been closed yet.
        assert len(refused) == FLOOD - cap, (descriptors, limited.log.read_text()[-3000:])
        assert descriptors < DESCRIPTORS
        print(f"\n{FLOOD} connections: {cap} admitted, {len(refused)} refused; server fds {descriptors}")

        # The silent ones are closed after sip_tcp_handshake_timeout; then TCP serves everyone again.
        admitted = [sock for sock in flood if sock not in refused]
        assert len(closed_by_server(admitted, wait=SILENCE + 15)) == cap
        assert tcp_options(limited.sip_port, "tcp-1").startswith(b"SIP/2.0 200 ")
        warnings = re.findall(r"refused \d+ SIP TCP/TLS connection", limited.log.read_text())
        assert 1 <= len(warnings) <= 5  # rate-limited, not one line per connection
    finally:
        for sock in flood:
            sock.close()


def test_silent_http_connections_are_bounded_and_closed(limited: Served) -> None:
    account = limited.admin_json("account", "create")
    api_key, api_secret = str(account["apiKey"]), str(account["apiSecret"])
    app_id = str(limited.admin_json("app", "create", "--api-key", api_key)["appId"])
    flood = open_connections(limited.http_port, 200)
    try:
        refused = closed_by_server(flood, wait=1)
        assert len(refused) == 200 - 64  # http_max_connections
        # the silent ones are closed after uvicorn's keep-alive timeout (5 s), then the API answers
        assert len(closed_by_server([s for s in flood if s not in refused], wait=20)) == 64
        with Client(limited.base_url, api_key, api_secret) as client:
            assert list(client.iter_phones(app_id)) == []
        assert udp_options(limited.sip_port, "udp-2").startswith(b"SIP/2.0 200 ")
    finally:
        for sock in flood:
            sock.close()


def test_a_limit_too_low_for_the_rtp_range_is_warned_of_at_start(tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path, database_url)  # the default range: 10,000 RTP sockets with every pair in a call
    served.launcher = [require("prlimit"), f"--nofile={DESCRIPTORS}:{DESCRIPTORS}", "--"]
    served.env |= {"SIPLINE_HTTP_MAX_CONNECTIONS": "64"}
    served.start()
    try:
        log = served.log.read_text()
    finally:
        served.stop()
    assert "SIP TCP/TLS connections at most 16 (64 per address), HTTP 64, RTP sockets 10000" in log
    short = 64 + 10_000 + 128 + 16 - DESCRIPTORS
    assert f"the open-file limit is {short} descriptors short of" in log, log[-3000:]
    assert "narrow rtp_port_min..rtp_port_max" in log
