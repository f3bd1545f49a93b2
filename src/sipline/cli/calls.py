"""`sipline call`: invoke a phone through the voice API; with --wait, follow the call to its end."""

import time

import click

from sipline.cli.customer import api_options, call_api
from sipline.cli.options import json_flag
from sipline.cli.output import print_json
from sipline.cli.progress import Progress
from sipline.cli.records import print_record
from sipline.client import CallRecord, Client

POLL_INTERVAL = 0.25


@click.command("call")
@api_options
@click.option("--account", required=True, help="SIP account of the phone that places the call.")
@click.option("--callee", required=True, help="Number to call (international digits).")
@click.option("--display-num", required=True, help="Caller ID for the callee, 7-13 digits.")
@click.option("--called-info", default="", help="Free text kept with the record.")
@click.option(
    "--wait/--no-wait",
    default=False,
    help="Follow the call (its stages on standard error) and print its record at the end.",
)
@click.option(
    "--timeout", type=click.FloatRange(0, 86400), default=180.0, show_default=True,
    help="Seconds --wait waits at most.",
)  # fmt: skip
@json_flag
def call(
    app_id: str,
    base_url: str,
    api_key: str,
    api_secret: str,
    account: str,
    callee: str,
    display_num: str,
    called_info: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Ring the phone, then call the callee and bridge them (sendSip); prints the voiceId."""

    def invoke(client: Client) -> tuple[str, CallRecord | None]:
        voice_id = client.send_sip(app_id, account, callee, display_num, called_info)
        if not wait:
            return voice_id, None
        click.echo(f"voiceId {voice_id}", err=True)
        return voice_id, follow(client, voice_id, timeout)

    voice_id, record = call_api(base_url, api_key, api_secret, invoke)
    if record is not None:
        print_record(record, as_json)
    elif as_json:
        print_json({"voiceId": voice_id})
    else:
        click.echo(voice_id)


def follow(client: Client, voice_id: str, timeout: float) -> CallRecord:
    """Poll the record until hang-up, printing each stage once as it appears."""
    deadline = time.monotonic() + timeout
    progress = Progress()
    while True:
        record = client.record_sip(voice_id)
        for line in progress.new_lines(record):
            click.echo(line, err=True)
        if record.hangup_time is not None:
            return record
        if time.monotonic() > deadline:
            raise click.ClickException(f"call {voice_id} still going after {timeout:g} s")
        time.sleep(POLL_INTERVAL)
