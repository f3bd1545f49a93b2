"""Routes of the customer API: every request is authenticated before its body is even parsed."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from sipline.api.openapi import SIGNED
from sipline.services.auth import AuthService, Caller, SignedHeaders


class SignedRoute(APIRoute):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        openapi_extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Authentication is not a FastAPI dependency (it would cost more than a sipQuery), so the
        # operation names the signing headers itself.
        super().__init__(
            path, endpoint, openapi_extra={**(openapi_extra or {}), "security": SIGNED}, **kwargs
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            auth: AuthService = request.app.state.platform.auth
            request.state.caller = await auth.authenticate(
                SignedHeaders(
                    api_key=request.headers.get("api-key"),
                    timestamp=request.headers.get("timestamp"),
                    sign=request.headers.get("sign"),
                    client_ip=request.client.host if request.client else None,
                )
            )
            return await handler(request)

        return authenticated


def caller_of(request: Request) -> Caller:
    """The account that signed this request (set by SignedRoute before the handler runs)."""
    result: Caller = request.state.caller
    return result
