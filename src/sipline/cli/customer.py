"""What the customer-side commands share: the API options and calling the API through the SDK."""

from collections.abc import Callable
from typing import Any, TypeVar

import click

from sipline.client import Client, SiplineError, SiplineTransportError

T = TypeVar("T")

# Queries are retried this often when the API does not answer (a restart, a dropped connection);
# writes never are (client/transport.py).
READ_RETRIES = 2
RETRY_BACKOFF = 0.2


def _http_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value


def api_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--app-id, --base-url, --api-key, --api-secret (each also from a SIPLINE_* variable)."""
    func = account_options(func)
    return click.option("--app-id", envvar="SIPLINE_APP_ID", required=True, help="(env SIPLINE_APP_ID)")(func)


def account_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--base-url, --api-key, --api-secret (each also from a SIPLINE_* variable): no app needed."""
    func = click.option(
        "--api-secret", envvar="SIPLINE_API_SECRET", required=True, help="(env SIPLINE_API_SECRET)"
    )(func)
    func = click.option("--api-key", envvar="SIPLINE_API_KEY", required=True, help="(env SIPLINE_API_KEY)")(
        func
    )
    func = click.option(
        "--base-url",
        envvar="SIPLINE_BASE_URL",
        default="http://127.0.0.1:8080",
        show_default=True,
        callback=_http_url,
        help="Server root URL (env SIPLINE_BASE_URL).",
    )(func)
    return func


def call_api(base_url: str, api_key: str, api_secret: str, action: Callable[[Client], T]) -> T:
    """Run ``action`` with a client; API refusals and an unreachable API become one-line CLI errors."""
    try:
        with Client(
            base_url, api_key, api_secret, retries=READ_RETRIES, retry_backoff=RETRY_BACKOFF
        ) as client:
            return action(client)
    except SiplineError as exc:
        raise click.ClickException(f"[{exc.status}] {exc.reason}") from None
    except SiplineTransportError as exc:
        raise click.ClickException(
            f'cannot reach the voice API at {exc.base_url}: is "sipline serve" running? ({exc.detail})'
        ) from None
