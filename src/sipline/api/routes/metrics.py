"""GET /metrics: Prometheus text format, for loopback clients, or for whoever has the metrics token."""

import hmac
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from sipline.domain.errors import ApiError
from sipline.domain.status import Status

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    platform = request.app.state.platform
    settings = platform.settings
    if not settings.metrics_enabled:
        raise HTTPException(404)
    if settings.metrics_token is not None:
        if not _bearer_is(authorization, settings.metrics_token):
            raise ApiError(
                Status.AUTH_FAILED, "metrics token missing or wrong (Authorization: Bearer <token>)", 401
            )
    elif not _is_loopback(request.client.host if request.client else None):
        raise ApiError(
            Status.IP_NOT_ALLOWED, "metrics are served to loopback clients only (or set metrics_token)", 403
        )
    return Response(platform.metrics.expose(), media_type=CONTENT_TYPE_LATEST)


def _bearer_is(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack listener
    return bool((mapped or address).is_loopback)
