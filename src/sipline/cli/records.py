"""`sipline records ...`: the customer's call records, through the voice API (the SDK)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx

from sipline.cli.customer import api_options, call_api
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_mapping, print_table
from sipline.client import CallRecord, Client, Page, RecordingUrl, iter_pages

# The columns of a record list, in the API's names; a query's records lack some (recordGroupQuery
# has no sipGroupName or phoneName), and those are left out.
LIST_COLUMNS = (
    "voiceId",
    "sipGroupName",
    "phoneName",
    "callee",
    "submitTime",
    "callDuration",
    "terminationCode",
    "terminationReason",
    "cost",
)
DEFAULT_WINDOW = timedelta(days=1)


def print_record(record: CallRecord, as_json: bool) -> None:
    """One record, every field the API sent, in its names and order."""
    print_json(record.raw) if as_json else print_mapping(record.raw)


def _instant(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """ISO 8601 date or time; without an offset it is the local time of this machine."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2026-12-01T09:00") from None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


@click.group()
def records() -> None:
    """Read call records through the voice API."""


@records.command("get")
@api_options
@click.argument("voice_id")
@json_flag
def records_get(
    app_id: str, base_url: str, api_key: str, api_secret: str, voice_id: str, as_json: bool
) -> None:
    """Show the record of one call (recordSip)."""
    print_record(call_api(base_url, api_key, api_secret, lambda client: client.record_sip(voice_id)), as_json)


@records.command("list")
@api_options
@click.option("--from", "start", callback=_instant, help="Window start, ISO 8601 (default: --to - 24 h).")
@click.option("--to", "end", callback=_instant, help="Window end, ISO 8601 (default: now).")
@click.option("--group", "group_name", help="Only this phone group (recordSipQuery).")
@click.option("--phone", "phone_name", help="Only this phone, by name (recordSipQuery).")
@click.option("--page", "current", type=click.IntRange(1), help="Only this page (default: all).")
@click.option("--size", type=click.IntRange(1, 100), default=100, show_default=True, help="Page size.")
@json_flag
def records_list(
    app_id: str,
    base_url: str,
    api_key: str,
    api_secret: str,
    start: datetime | None,
    end: datetime | None,
    group_name: str | None,
    phone_name: str | None,
    current: int | None,
    size: int,
    as_json: bool,
) -> None:
    """List the calls submitted in a window, newest first (at most 31 days).

    With --group or --phone through recordSipQuery, which names each call's phone; otherwise through
    recordGroupQuery (every call of the account).
    """
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_WINDOW
    str_time, end_time = start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")
    by_phone = group_name is not None or phone_name is not None

    def page(client: Client, number: int) -> Page[CallRecord]:
        if by_phone:
            return client.record_sip_query(
                str_time, end_time, number, size, sip_group_name=group_name, phone_name=phone_name
            )
        return client.record_group_query(str_time, end_time, number, size)

    def fetch(client: Client) -> list[CallRecord]:
        if current is not None:
            return page(client, current).records
        return list(iter_pages(lambda number: page(client, number)))

    found = call_api(base_url, api_key, api_secret, fetch)
    if as_json:
        print_json([record.raw for record in found])
        return
    present = [column for column in LIST_COLUMNS if not found or column in found[0].raw]
    print_table(present, [[record.raw.get(column) for column in present] for record in found])


@records.command("recording-url")
@api_options
@click.argument("recording_file_id")
@click.option("--group", "from_group", is_flag=True, help="The id is a voiceFileId of recordGroupQuery.")
@click.option(
    "--download",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    help="Also fetch the mp3 into this file.",
)
@json_flag
def records_recording_url(
    app_id: str,
    base_url: str,
    api_key: str,
    api_secret: str,
    recording_file_id: str,
    from_group: bool,
    download: Path | None,
    as_json: bool,
) -> None:
    """Print a signed, expiring URL of a call's recording (getRecordingFileUrl); --download saves it."""
    source_type = "group" if from_group else "sip"
    link: RecordingUrl = call_api(
        base_url, api_key, api_secret, lambda client: client.recording_url(recording_file_id, source_type)
    )
    if download is not None:
        _download(link.url, download)
    shown = {"url": link.url, "expireTime": link.expire_time}
    if as_json:
        print_json(shown)
    else:
        print_mapping(shown | {"expires": link.expires_at.isoformat(timespec="seconds")})


def _download(url: str, destination: Path) -> None:
    """Stream the mp3 into ``destination`` (a partial file is removed on failure)."""
    partial = destination.with_name(destination.name + ".part")
    try:
        with httpx.stream("GET", url, timeout=30.0) as response:
            if response.status_code != 200:
                raise click.ClickException(f"the recording could not be fetched: HTTP {response.status_code}")
            with partial.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
        partial.replace(destination)
    except (httpx.HTTPError, OSError) as exc:
        raise click.ClickException(f"the recording could not be saved to {destination}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
