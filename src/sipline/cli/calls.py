"""`sipline call`: invoke a phone through the voice API and, with --wait, print the call's record."""

import dataclasses
import time

import click

from sipline.cli.customer import api_options, call_api
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_mapping
from sipline.client import CallRecord, Client


@click.command("call")
@api_options
@click.option("--account", required=True, help="SIP account of the phone that places the call.")
@click.option("--callee", required=True, help="Number to call (international digits).")
@click.option("--display-num", required=True, help="Caller ID for the callee, 7-13 digits.")
@click.option("--called-info", default="", help="Free text kept with the record.")
@click.option("--wait/--no-wait", default=False, help="Wait for the end of the call and print its record.")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds --wait waits at most.")
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
    """Ring the phone, then call the callee and bridge them (sendSip)."""

    def invoke(client: Client) -> tuple[str, CallRecord | None]:
        voice_id = client.send_sip(app_id, account, callee, display_num, called_info)
        if not wait:
            return voice_id, None
        return voice_id, wait_for_hangup(client, voice_id, timeout)

    voice_id, record = call_api(base_url, api_key, api_secret, invoke)
    if record is None:
        click.echo(voice_id)
    elif as_json:
        print_json(dataclasses.asdict(record))
    else:
        print_mapping(dataclasses.asdict(record))


def wait_for_hangup(client: Client, voice_id: str, timeout: float) -> CallRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = client.record_sip(voice_id)
        if record.hangup_time is not None:
            return record
        if time.monotonic() > deadline:
            raise click.ClickException(f"call {voice_id} still going after {timeout:g} s")
        time.sleep(0.5)
