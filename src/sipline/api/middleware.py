"""ASGI middleware: a body-size cap and a last-resort `-18` answer for unexpected exceptions."""

import logging
import uuid
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sipline.api.envelope import envelope
from sipline.api.errors import BodyTooLarge
from sipline.domain.status import Status

log = logging.getLogger("sipline.api")


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes: at once by Content-Length, or while streaming a chunked body.

    `limits` gives a few paths their own limit (a rate deck import is far larger than any API call);
    `answers` gives the paths under a prefix their own refusal (the console's is a page, not the
    envelope), made from the limit."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        limits: dict[str, int] | None = None,
        answers: Mapping[str, Callable[[int], ASGIApp]] | None = None,
    ) -> None:
        self.app = app
        self.default_limit = limit
        self.limits = limits or {}
        self.answers = answers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default_limit)
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await self._too_large(scope["path"], limit)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self, path: str, limit: int) -> ASGIApp:
        for prefix, answer in self.answers.items():
            if path.startswith(prefix):
                return answer(limit)
        return envelope(Status.PARAMETER_ERROR, str(BodyTooLarge(limit).detail), http_status=413)


class UnexpectedErrorMiddleware:
    """Answer `-18` with a reference that is also in the log, instead of a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            log.exception(
                "unhandled error on %s %s (ref %s)", scope.get("method"), scope.get("path"), reference
            )
            if started:
                raise
            await envelope(Status.SYSTEM_ERROR, f"system error (ref {reference})")(scope, receive, send)
