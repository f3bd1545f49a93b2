"""What the customer-side commands share: the API options and calling the API through the SDK."""

from collections.abc import Callable
from typing import Any, TypeVar

import click

from sipline.client import Client, SiplineError

T = TypeVar("T")


def api_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--app-id, --base-url, --api-key, --api-secret (each also from a SIPLINE_* variable)."""
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
        help="Server root URL (env SIPLINE_BASE_URL).",
    )(func)
    return click.option("--app-id", envvar="SIPLINE_APP_ID", required=True, help="(env SIPLINE_APP_ID)")(func)


def call_api(base_url: str, api_key: str, api_secret: str, action: Callable[[Client], T]) -> T:
    """Run ``action`` with a client; API refusals and network errors become clear CLI errors."""
    try:
        with Client(base_url, api_key, api_secret) as client:
            return action(client)
    except SiplineError as exc:
        raise click.ClickException(f"[{exc.status}] {exc.reason}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach {base_url}: {exc}") from None
