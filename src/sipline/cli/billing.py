"""`sipline balance` and `sipline ledger` (the customer's, through the voice API), and the operator's
`sipline admin account limits|adjust|ledger` (on the platform's database)."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from sipline.billing.ledger import LedgerRow, LedgerWindow
from sipline.billing.limit_store import LimitsView
from sipline.billing.limits import AccountLimits
from sipline.cli.admin import account, admin_options, with_platform
from sipline.cli.customer import account_options, call_api
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_mapping, print_table
from sipline.cli.records import _instant
from sipline.client import LedgerEntry
from sipline.domain.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageRequest

LEDGER_COLUMNS = ["createdAt", "kind", "amount", "balanceAfter", "reference"]
_PAGE = click.IntRange(1, MAX_PAGE)
_SIZE = click.IntRange(1, MAX_PAGE_SIZE)


def _page_options(func: Any) -> Any:
    func = click.option("--to", "until", callback=_instant, help="Until (ISO 8601; no offset: local).")(func)
    func = click.option("--from", "since", callback=_instant, help="From (ISO 8601; no offset: local).")(func)
    func = click.option("--size", type=_SIZE, default=25, show_default=True, help="Rows per page.")(func)
    return click.option("--page", type=_PAGE, default=1, show_default=True, help="Page, newest first.")(func)


# -- customer -------------------------------------------------------------------------------------
@click.command("balance")
@account_options
@json_flag
def balance(base_url: str, api_key: str, api_secret: str, as_json: bool) -> None:
    """Show what the account can spend now (getBalance)."""
    answer = call_api(base_url, api_key, api_secret, lambda client: client.get_balance())
    shown = {"balance": str(answer.balance), "gift": str(answer.gift), "credit": str(answer.credit)}
    print_json(shown) if as_json else print_mapping(shown)


@click.command("ledger")
@account_options
@_page_options
@json_flag
def ledger(
    base_url: str,
    api_key: str,
    api_secret: str,
    page: int,
    size: int,
    since: Any,
    until: Any,
    as_json: bool,
) -> None:
    """Show the account's ledger, newest first (ledgerQuery)."""
    result = call_api(
        base_url,
        api_key,
        api_secret,
        lambda client: client.ledger_query(
            page,
            size,
            None if since is None else since.isoformat(),
            None if until is None else until.isoformat(),
        ),
    )
    rows = [_entry_json(entry) for entry in result.records]
    _print_ledger(rows, result.total, result.current, result.pages, as_json)


def _print_ledger(rows: list[dict[str, Any]], total: int, current: int, pages: int, as_json: bool) -> None:
    if as_json:
        print_json({"total": total, "current": current, "pages": pages, "records": rows})
        return
    print_table(LEDGER_COLUMNS, [[row[column] for column in LEDGER_COLUMNS] for row in rows])
    click.echo(f"page {current} of {pages} ({total} rows)", err=True)


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "createdAt": entry.created_at.isoformat(),
        "kind": entry.kind,
        "amount": str(entry.amount),
        "balanceAfter": str(entry.balance_after),
        "reference": entry.reference,
    }


# -- operator -------------------------------------------------------------------------------------
@account.command("limits")
@admin_options
@click.argument("api_key")
@click.option("--max-concurrent", type=click.IntRange(0, 100_000), help="Most calls up at once (0: none).")
@click.option("--max-cps", type=click.IntRange(0, 10_000), help="Most new calls a second (0: none).")
@click.option("--daily-cap", help='Most spent per UTC day ("none": no cap).')
@click.option("--deny", help='Denied destination prefixes, comma-separated ("": none).')
@click.option("--allow-only", help='The only destination prefixes allowed, comma-separated ("": any).')
@click.option("--clear", is_flag=True, help="Remove every limit first.")
@json_flag
def account_limits(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    max_concurrent: int | None,
    max_cps: int | None,
    daily_cap: str | None,
    deny: str | None,
    allow_only: str | None,
    clear: bool,
    as_json: bool,
) -> None:
    """Show an account's fraud limits, or change those given (the others are kept)."""
    changes = (max_concurrent, max_cps, daily_cap, deny, allow_only)

    async def run(platform: Any) -> AccountLimits:
        current: AccountLimits = await platform.limits.get(api_key)
        if not clear and all(change is None for change in changes):
            return current
        base = AccountLimits() if clear else current
        wanted = AccountLimits.of(
            base.max_concurrent if max_concurrent is None else (max_concurrent or None),
            base.max_cps if max_cps is None else (max_cps or None),
            _cap(base.daily_cap, daily_cap),
            list(base.deny) if deny is None else _list(deny),
            list(base.allow_only) if allow_only is None else _list(allow_only),
        )
        limits: AccountLimits = await platform.limits.set(api_key, wanted)
        return limits

    view = LimitsView(api_key, with_platform(config_file, data_dir, database_url, run)).as_json()
    print_json(view) if as_json else print_mapping(view)


def _cap(current: Decimal | None, given: str | None) -> Decimal | str | None:
    if given is None:
        return current
    return None if given.strip().lower() == "none" else given


def _list(given: str) -> list[str]:
    return [part for part in (piece.strip() for piece in given.split(",")) if part]


@account.command("adjust", context_settings={"ignore_unknown_options": True})  # AMOUNT may be -5
@admin_options
@click.argument("api_key")
@click.argument("amount")
@click.option("--reason", required=True, help="Why (kept in the ledger): a refund, a correction ...")
@json_flag
def account_adjust(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    amount: str,
    reason: str,
    as_json: bool,
) -> None:
    """Correct a balance by AMOUNT (negative takes; never below zero), with a reason."""
    row: LedgerRow = with_platform(
        config_file, data_dir, database_url, lambda platform: platform.ledger.adjust(api_key, amount, reason)
    )
    print_json(row.as_json()) if as_json else print_mapping(row.as_json())


@account.command("ledger")
@admin_options
@click.argument("api_key")
@_page_options
@json_flag
def account_ledger(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    api_key: str,
    as_json: bool,
    page: int,
    size: int,
    since: Any,
    until: Any,
) -> None:
    """Show any account's ledger, newest first."""
    result: Page[LedgerRow] = with_platform(
        config_file,
        data_dir,
        database_url,
        lambda platform: platform.ledger.entries_of(
            api_key, LedgerWindow(since, until), PageRequest(page, size)
        ),
    )
    _print_ledger([row.as_json() for row in result.records], result.total, page, result.pages, as_json)
