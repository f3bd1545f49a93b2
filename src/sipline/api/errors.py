"""Every failure, from a bad header to an unexpected exception, answers in the envelope.

Business errors answer HTTP 200 (the vendor's clients only read 200 bodies); errors of HTTP itself
(unknown path, wrong method, oversize body) keep their HTTP status, with the envelope as body.
"""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from sipline.api.envelope import envelope
from sipline.domain.errors import ApiError
from sipline.domain.status import Status


class BodyTooLarge(HTTPException):
    # An HTTPException, not an ApiError: FastAPI lets only these through from a failing body read.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


def describe_validation_error(error: Mapping[str, Any]) -> str:
    """One readable sentence naming the field, e.g. `quantity must be an integer`."""
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    field = ".".join(loc)
    kind = error.get("type", "")
    message = str(error.get("msg", "is invalid"))
    if kind == "json_invalid":
        return "request body is not valid JSON"
    if kind == "missing":
        return f"{field} is required" if field else "request body is required"
    if kind == "int_parsing_size":  # more digits than Python converts (4300): beyond every bound
        return f"{field} is out of range"
    if not field and kind in {"model_attributes_type", "dict_type"}:
        return "request body must be a JSON object (Content-Type: application/json)"
    message = message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if message.startswith("input should be"):
        message = "must be" + message[len("input should be") :]
    return f"{field} {message}" if field else message


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return envelope(exc.status, exc.reason, http_status=exc.http_status)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        reason = describe_validation_error(errors[0]) if errors else "invalid request"
        return envelope(Status.PARAMETER_ERROR, reason)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            reason = f"no such endpoint: {request.url.path}"
        elif exc.status_code == 405:
            reason = f"method {request.method} is not allowed on {request.url.path}"
        elif exc.status_code == 400:
            # FastAPI's answer to a body it could not even read as text.
            return envelope(Status.PARAMETER_ERROR, "request body is not valid JSON")
        else:
            reason = str(exc.detail)
        return envelope(Status.PARAMETER_ERROR, reason, http_status=exc.status_code)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
