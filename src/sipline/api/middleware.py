"""ASGI middleware: a body-size cap and a last-resort `-18` answer for unexpected exceptions."""

import logging
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sipline.api.envelope import envelope
from sipline.api.errors import BodyTooLarge
from sipline.domain.status import Status

log = logging.getLogger("sipline.api")


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes: at once by Content-Length, or while streaming a chunked body."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                too_large = BodyTooLarge(self.limit)
                answer = envelope(Status.PARAMETER_ERROR, str(too_large.detail), http_status=413)
                await answer(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited_receive, send)


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
