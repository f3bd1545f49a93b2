"""`sipline admin ...`: operator commands on the platform's own database."""

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sipline.cli.options import json_flag, platform_options, settings_from
from sipline.cli.output import print_json, print_mapping, print_table
from sipline.config import Settings
from sipline.domain.errors import ApiError
from sipline.services.tenancy import AccountView, TenancyService

if TYPE_CHECKING:
    from sipline.bootstrap import Platform

T = TypeVar("T")
INIT_FLAG = "sipline.admin.init"


def _remember_init(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[INIT_FLAG] = value


def admin_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The platform's location, and --init: the one way an admin command creates a new platform."""
    func = click.option(
        "--init",
        is_flag=True,
        expose_value=False,
        callback=_remember_init,
        help="Create a new platform if there is none at --data-dir (default: refuse).",
    )(func)
    return platform_options(func)


def missing_platform(settings: Settings) -> str | None:
    """Why there is no platform where the settings point (which admin would silently create), or None."""
    data_dir = settings.data_dir.resolve()
    if not data_dir.is_dir():
        return f"data directory {data_dir} does not exist"
    if settings.database_url is None and not (data_dir / "sipline.db").exists():
        return f"data directory {data_dir} holds no database (sipline.db)"
    return None


def _require_platform(settings: Settings) -> None:
    problem = missing_platform(settings)
    if problem is None:
        return
    if not click.get_current_context().meta.get(INIT_FLAG, False):
        raise click.ClickException(
            f"{problem}: no platform there. Give the --data-dir (or SIPLINE_DATA_DIR) that"
            ' "sipline serve" uses, start "sipline serve" there first, or pass --init to create a new one.'
        )
    click.echo(f"{problem}: creating a new platform there (--init)", err=True)


def _with_tenancy(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    action: Callable[[TenancyService], Awaitable[T]],
) -> T:
    return with_platform(config_file, data_dir, database_url, lambda platform: action(platform.tenancy))


def with_platform(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    action: "Callable[[Platform], Awaitable[T]]",
) -> T:
    """Run ``action`` on the platform the options point to; an ApiError is a clean CLI failure."""
    from sipline.bootstrap import build_platform

    settings = settings_from(config_file, data_dir=data_dir, database_url=database_url)
    _require_platform(settings)

    async def run() -> T:
        platform = await build_platform(settings)
        try:
            return await action(platform)
        finally:
            await platform.close()

    try:
        return asyncio.run(run())
    except ApiError as exc:
        raise click.ClickException(f"[{exc.status.value}] {exc.reason}") from None


def _show_account(view: AccountView, as_json: bool) -> None:
    print_json(view.as_json()) if as_json else print_mapping(view.as_json())


@click.group()
def admin() -> None:
    """Operate customer accounts and apps (on the data directory or database URL)."""


@admin.group()
def account() -> None:
    """Customer accounts."""


@admin.group()
def app() -> None:
    """Voice apps."""


@account.command("create")
@admin_options
@click.option("--name", default="", help="Free-text name of the customer.")
@click.option("--balance", type=Decimal, default=Decimal(0), help="Opening prepaid balance.")
@click.option("--currency", default="USD", help="Quote currency (USD, EUR, ...).")
@click.option("--quote-exchange", type=Decimal, help="Units of the quote currency per USD (not for USD).")
@click.option("--allow-ip", multiple=True, help="Allowed client address or CIDR (repeatable; none: any).")
@click.option("--api-key", help="Keep this apiKey (migrating a customer); default: generated.")
@click.option("--api-secret", help="Keep this apiSecret (migrating a customer); default: generated.")
@json_flag
def account_create(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    name: str,
    balance: Decimal,
    currency: str,
    quote_exchange: Decimal | None,
    allow_ip: tuple[str, ...],
    api_key: str | None,
    api_secret: str | None,
    as_json: bool,
) -> None:
    """Create an account; prints its apiKey and apiSecret (the secret is shown here only)."""
    created = _with_tenancy(
        config_file,
        data_dir,
        database_url,
        lambda t: t.create_account(
            name=name,
            balance=balance,
            currency=currency,
            quote_exchange=quote_exchange,
            ip_allowlist=list(allow_ip),
            api_key=api_key,
            api_secret=api_secret,
        ),
    )
    print_json(created.as_json()) if as_json else print_mapping(created.as_json())


@account.command("list")
@admin_options
@json_flag
def account_list(
    config_file: Path | None, data_dir: Path | None, database_url: str | None, as_json: bool
) -> None:
    """List accounts."""
    views = _with_tenancy(config_file, data_dir, database_url, lambda t: t.list_accounts())
    if as_json:
        print_json([view.as_json() for view in views])
        return
    print_table(
        ["apiKey", "name", "locked", "balance", "currency", "apps"],
        [[v.api_key, v.name, v.locked, v.balance, v.currency, " ".join(v.apps)] for v in views],
    )


def _account_command(
    name: str, help_text: str, action: Callable[[TenancyService, str], Awaitable[AccountView]]
) -> None:
    @account.command(name, help=help_text)
    @admin_options
    @click.argument("api_key")
    @json_flag
    def command(
        config_file: Path | None, data_dir: Path | None, database_url: str | None, api_key: str, as_json: bool
    ) -> None:
        _show_account(
            _with_tenancy(config_file, data_dir, database_url, lambda t: action(t, api_key)), as_json
        )


_account_command("show", "Show one account.", lambda t, key: t.get_account(key))
_account_command("lock", "Lock an account: its API calls answer -13.", lambda t, key: t.set_locked(key, True))
_account_command("unlock", "Unlock an account.", lambda t, key: t.set_locked(key, False))


@account.command("allow-ip")
@admin_options
@click.argument("api_key")
@click.argument("entries", nargs=-1)
@json_flag
def account_allow_ip(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    entries: tuple[str, ...],
    as_json: bool,
) -> None:
    """Replace the IP allow-list with ENTRIES (addresses or CIDR); none clears it (any address)."""
    view = _with_tenancy(
        config_file, data_dir, database_url, lambda t: t.set_ip_allowlist(api_key, list(entries))
    )
    _show_account(view, as_json)


@account.command("top-up")
@admin_options
@click.argument("api_key")
@click.argument("amount", type=Decimal)
@click.option("--reference", default="", help="Ledger reference (invoice, payment id).")
@json_flag
def account_top_up(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    amount: Decimal,
    reference: str,
    as_json: bool,
) -> None:
    """Add AMOUNT to the prepaid balance."""
    view = _with_tenancy(config_file, data_dir, database_url, lambda t: t.top_up(api_key, amount, reference))
    _show_account(view, as_json)


@app.command("create")
@admin_options
@click.option("--api-key", required=True, help="The account the app belongs to.")
@click.option("--name", default="", help="Free-text name of the app.")
@click.option("--phone-limit", type=int, help="Most phones the app may have.")
@click.option("--app-id", help="Keep this appId (migrating a customer); default: generated.")
@json_flag
def app_create(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    name: str,
    phone_limit: int | None,
    app_id: str | None,
    as_json: bool,
) -> None:
    """Create a voice app; prints its appId."""
    view = _with_tenancy(
        config_file,
        data_dir,
        database_url,
        lambda t: t.create_app(api_key, name=name, phone_limit=phone_limit, app_id=app_id),
    )
    print_json(view.as_json()) if as_json else print_mapping(view.as_json())


@app.command("list")
@admin_options
@click.option("--api-key", help="Only the apps of this account.")
@json_flag
def app_list(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """List voice apps (appId, account, phone limit and count)."""
    views = _with_tenancy(config_file, data_dir, database_url, lambda t: t.list_apps(api_key))
    if as_json:
        print_json([view.as_json() for view in views])
        return
    print_table(
        ["appId", "apiKey", "name", "phoneLimit", "phoneCount"],
        [[v.app_id, v.api_key, v.name, v.phone_limit, v.phone_count] for v in views],
    )
