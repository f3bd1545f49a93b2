"""ASGI middleware timing every request (a histogram by route template) and, optionally, logging it."""

import json
import logging
import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("sipline.access")

UNMATCHED = "unmatched"  # the route label of requests no route took (404): raw paths are unbounded
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ObservedRequests:
    """Observe each request's latency by (route template, method); log it when ``log`` is set."""

    def __init__(self, app: ASGIApp, latency: Histogram, log: bool) -> None:
        self.app = app
        self.latency = latency
        self.log = log
        self._children: dict[tuple[str, str], Histogram] = {}  # labels() is slow; both labels bounded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: the app raised

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            self._observe(scope, seconds)
            if self.log:
                _log_access(scope, status, seconds)

    def _observe(self, scope: Scope, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED  # set by the router that matched
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        child = self._children.get((route, method))
        if child is None:
            child = self._children[(route, method)] = self.latency.labels(route, method)
        child.observe(seconds)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    fields = {
        "method": _printable(scope["method"]),
        "path": _printable(scope["path"]),  # never the query string
        "status": status,
        "latencyMs": round(seconds * 1000, 3),
        "client": client[0] if client else None,
    }
    access_log.info(
        "%s %s %d %.1f ms %s",
        fields["method"],
        fields["path"],
        status,
        seconds * 1000,
        fields["client"] or "-",
        extra={"fields": fields},
    )


def _printable(text: str, limit: int = 256) -> str:
    """Control characters escaped (a path with a newline must not forge a log line), length capped."""
    return json.dumps(text[:limit], ensure_ascii=False)[1:-1]
