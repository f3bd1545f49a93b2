"""`sipline admin rates ...`: the operator's rate decks (import with a progress bar, export, versions)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sipline.billing.deck_service import ExportedDeck
from sipline.billing.decks import DeckRefused, DeckVersion
from sipline.cli.admin import admin_options, with_platform
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_mapping, print_table
from sipline.domain.errors import ApiError
from sipline.domain.time_window import parse_instant

if TYPE_CHECKING:
    from sipline.bootstrap import Platform


def _instant(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, "the time").astimezone(UTC)
    except ApiError as exc:
        raise click.BadParameter(exc.reason) from None


@click.group()
def rates() -> None:
    """Rate decks: the platform's and the accounts' (which override it where they have a prefix)."""


@rates.command("import")
@admin_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", help="The account's apiKey (default: the platform deck).")
@click.option(
    "--effective-from",
    callback=_instant,
    help="ISO 8601 time with offset from which the deck rates new calls (default: now).",
)
@json_flag
def rates_import(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    file: Path,
    account: str | None,
    effective_from: datetime | None,
    as_json: bool,
) -> None:
    """Import FILE.csv as a new version of a deck: all of it or, if any line is wrong, nothing."""
    data = file.read_bytes()
    progress = Progress(
        TextColumn("writing rates"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=as_json,
    )

    task = progress.add_task("import", total=None)

    def advance(done: int, total: int) -> None:
        progress.start()  # shown once the file has been checked and the writing begins
        progress.update(task, completed=done, total=total)

    async def run(platform: Platform) -> DeckVersion:
        try:
            return await platform.decks.import_csv(data, account, effective_from, advance)
        finally:
            progress.stop()

    try:
        version = with_platform(config_file, data_dir, database_url, run)
    except DeckRefused as refused:
        for error in refused.errors:
            click.echo(f"{file}: {error}", err=True)
        if refused.more:
            click.echo(f"{file}: ... and {refused.more} more problems", err=True)
        raise click.ClickException(f"{file}: rate deck refused, nothing imported") from None
    print_json(version.as_json()) if as_json else print_mapping(version.as_json())


@rates.command("export")
@admin_options
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=False)
@click.option("--account", help="The account's own deck (default: the platform deck).")
@click.option(
    "--at", callback=_instant, help="ISO 8601 time with offset: the version in effect then (default: now)."
)
def rates_export(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    file: Path | None,
    account: str | None,
    at: datetime | None,
) -> None:
    """Write the deck in effect (CSV, with a header) to FILE, or to standard output."""

    async def run(platform: Platform) -> ExportedDeck:
        return await platform.decks.export_csv(account, at)

    exported = with_platform(config_file, data_dir, database_url, run)
    if file is None:
        click.echo(exported.csv, nl=False)
    else:
        file.write_text(exported.csv, encoding="utf-8")
        shown = "the config file's rates" if exported.version is None else f"version {exported.version.id}"
        click.echo(f"{file}: {shown}", err=True)


@rates.command("list")
@admin_options
@click.option("--account", help="Only this account's versions.")
@json_flag
def rates_list(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    account: str | None,
    as_json: bool,
) -> None:
    """List deck versions: whose, in effect from when, how many lines."""

    async def run(platform: Platform) -> list[DeckVersion]:
        return await platform.decks.versions(account)

    versions = with_platform(config_file, data_dir, database_url, run)
    if as_json:
        print_json([version.as_json() for version in versions])
        return
    print_table(
        ["id", "account", "effectiveFrom", "lines", "createdAt"],
        [
            [v.id, v.account or "(platform)", v.effective_from.isoformat(), v.lines, v.created_at.isoformat()]
            for v in versions
        ],
    )
