"""`sipline admin app set-push|push-show|push-events|rotate-secret|push-outbox|push-replay`: the status
report push of an app, on the platform's database (the running server's worker picks changes up)."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sipline.cli.admin import admin_options, app, with_platform
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_mapping, print_table
from sipline.events.outbox import EVENT_TYPES
from sipline.services.push import MAX_GRACE, MAX_LISTED, PushService

T = TypeVar("T")
_EVENTS_HELP = f"Events pushed, comma-separated: {', '.join(EVENT_TYPES)} (default: report)."


def _events(value: str | None) -> list[str] | None:
    return None if value is None else value.split(",")


def _show(shown: dict[str, Any], as_json: bool) -> None:
    print_json(shown) if as_json else print_mapping(shown)


def _listing(entries: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        print_json(entries)
    else:
        print_table(columns, [[entry[column] for column in columns] for entry in entries])


def _push(
    ctx_args: tuple[Path | None, Path | None, str | None], action: Callable[[PushService], Awaitable[T]]
) -> T:
    config_file, data_dir, database_url = ctx_args
    return with_platform(config_file, data_dir, database_url, lambda platform: action(platform.push_config))


@app.command("set-push")
@admin_options
@click.argument("app_id")
@click.argument("url")
@click.option("--events", help=_EVENTS_HELP)
@json_flag
def set_push(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    url: str,
    events: str | None,
    as_json: bool,
) -> None:
    """Push APP_ID's status reports to URL; prints appId, url and the whsec_ signing secret."""

    async def action(service: PushService) -> dict[str, Any]:
        return (await service.set_push(app_id, url, _events(events))).brief()

    _show(_push((config_file, data_dir, database_url), action), as_json)


@app.command("push-show")
@admin_options
@click.argument("app_id")
@json_flag
def push_show(
    config_file: Path | None, data_dir: Path | None, database_url: str | None, app_id: str, as_json: bool
) -> None:
    """The app's push URL, secret, events, whether it is disabled (410), and its outbox by state."""

    async def action(service: PushService) -> dict[str, Any]:
        return (await service.show(app_id)).as_json()

    _show(_push((config_file, data_dir, database_url), action), as_json)


@app.command("push-events")
@admin_options
@click.argument("app_id")
@click.argument("events")
@json_flag
def push_events(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    events: str,
    as_json: bool,
) -> None:
    """Choose the events pushed: EVENTS is a comma-separated list of report, ringing, answered."""

    async def action(service: PushService) -> dict[str, Any]:
        return (await service.set_events(app_id, events.split(","))).as_json()

    _show(_push((config_file, data_dir, database_url), action), as_json)


@app.command("rotate-secret")
@admin_options
@click.argument("app_id")
@click.option(
    "--grace",
    type=click.FloatRange(0, MAX_GRACE.total_seconds()),
    default=86400.0,
    show_default=True,
    help="Seconds the old secret keeps signing beside the new one.",
)
@json_flag
def rotate_secret(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    grace: float,
    as_json: bool,
) -> None:
    """A new push signing secret for APP_ID; prints it (the old one stays valid for --grace)."""

    async def action(service: PushService) -> dict[str, Any]:
        view = await service.rotate_secret(app_id, grace)
        return view.brief() | {"previousSecretExpiresAt": view.as_json()["previousSecretExpiresAt"]}

    _show(_push((config_file, data_dir, database_url), action), as_json)


@app.command("push-outbox")
@admin_options
@click.argument("app_id")
@click.option("--state", type=click.Choice(["pending", "delivering", "delivered", "failed", "disabled"]))
@click.option("--limit", type=click.IntRange(1, MAX_LISTED), default=50, show_default=True)
@json_flag
def push_outbox(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    state: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The app's push events, newest first: state, tries, the endpoint's last answer."""

    async def action(service: PushService) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in await service.outbox(app_id, state, limit)]

    columns = ["eventId", "event", "state", "attempts", "lastStatus", "lastError", "nextAttemptAt"]
    _listing(_push((config_file, data_dir, database_url), action), columns, as_json)


@app.command("push-log")
@admin_options
@click.argument("app_id")
@click.option("--event-id", help="Only the tries of this event.")
@click.option("--limit", type=click.IntRange(1, MAX_LISTED), default=50, show_default=True)
@json_flag
def push_log(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    event_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The app's delivery log, newest first: each try's time, HTTP status, latency and error."""

    async def action(service: PushService) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in await service.log(app_id, event_id, limit)]

    columns = ["at", "eventId", "attempt", "status", "latencyMs", "error"]
    _listing(_push((config_file, data_dir, database_url), action), columns, as_json)


@app.command("push-replay")
@admin_options
@click.argument("app_id")
@click.option("--event-id", help="Replay this event (default: every failed or disabled one).")
@json_flag
def push_replay(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    app_id: str,
    event_id: str | None,
    as_json: bool,
) -> None:
    """Send events again: one by --event-id, or every failed and disabled one of APP_ID."""

    async def action(service: PushService) -> int:
        return await service.replay(app_id, event_id)

    queued = _push((config_file, data_dir, database_url), action)
    print_json({"queued": queued}) if as_json else click.echo(f"{queued} event(s) queued")
