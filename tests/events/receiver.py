"""A push receiver on another HTTP stack than the platform's (the standard library's http.server, in a
thread): it records each request as it arrives, with its own arrival time, and answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Arrival:
    at: float  # the receiver's clock (time.time()) when the request had arrived whole
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict[str, Any]:
        """The body, if its signature verifies with ``secret`` (standardwebhooks raises otherwise)."""
        payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return payload


Answer = tuple[int, dict[str, str]]  # status and headers
Script = Callable[[Arrival, int], Answer]  # the request and how many came before it


def always_ok(_arrival: Arrival, _count: int) -> Answer:
    return 204, {}


class Receiver:
    def __init__(self, port: int, script: Script = always_ok) -> None:
        self.port = port
        self.script = script
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sipline"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                arrival = Arrival(time.time(), {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    count = len(receiver.arrivals)
                    receiver.arrivals.append(arrival)
                status, headers = receiver.script(arrival, count)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Arrival]:
        """The requests answered 2xx, in arrival order."""
        with self._lock:
            return list(self.arrivals)
