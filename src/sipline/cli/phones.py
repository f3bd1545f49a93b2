"""`sipline phones ...`: the customer's phone commands, through the voice API (the SDK)."""

import click

from sipline.cli.customer import api_options as _api_options
from sipline.cli.customer import call_api as _call
from sipline.cli.options import json_flag
from sipline.cli.output import print_json, print_table
from sipline.client import Client, Phone


@click.group()
def phones() -> None:
    """Create, list and reset SIP phones through the voice API."""


@phones.command("add")
@_api_options
@click.option("--group", "group_name", required=True, help="Group name, 4-32 characters.")
@click.option("--name", "phone_name", required=True, help="Phone name; phones are NAME-1..N.")
@click.option("--quantity", type=int, default=1, show_default=True, help="1-50 phones.")
@click.option("--display-num", required=True, help="Caller number, 7-13 digits.")
@json_flag
def phones_add(
    app_id: str,
    base_url: str,
    api_key: str,
    api_secret: str,
    group_name: str,
    phone_name: str,
    quantity: int,
    display_num: str,
    as_json: bool,
) -> None:
    """Create a group of phones and print their credentials."""

    def add_and_list(client: Client) -> list[Phone]:
        client.sip_add(app_id, group_name, phone_name, quantity, display_num)
        return [phone for phone in client.iter_phones(app_id) if phone.group_name == group_name]

    _print_phones(_call(base_url, api_key, api_secret, add_and_list), as_json)


@phones.command("list")
@_api_options
@click.option("--page", "current", type=int, default=None, help="Only this page (default: all).")
@click.option("--size", type=int, default=100, show_default=True, help="Page size, 1-100.")
@json_flag
def phones_list(
    app_id: str, base_url: str, api_key: str, api_secret: str, current: int | None, size: int, as_json: bool
) -> None:
    """List the app's phones with their SIP credentials."""

    def fetch(client: Client) -> list[Phone]:
        if current is not None:
            return client.sip_query(app_id, current, size).records
        return list(client.iter_phones(app_id, size))

    _print_phones(_call(base_url, api_key, api_secret, fetch), as_json)


@phones.command("reset")
@_api_options
@click.option("--account", required=True, help="SIP account of the phone.")
@json_flag
def phones_reset(
    app_id: str, base_url: str, api_key: str, api_secret: str, account: str, as_json: bool
) -> None:
    """Give a phone a new SIP password and print it."""
    password = _call(base_url, api_key, api_secret, lambda client: client.sip_reset(app_id, account))
    if as_json:
        print_json({"account": account, "password": password})
    else:
        click.echo(f"new password for {account}: {password}")


def _print_phones(found: list[Phone], as_json: bool) -> None:
    if as_json:
        print_json([phone.raw for phone in found])
        return
    print_table(
        ["group", "phone", "account", "password", "displayNum", "registered", "userAgent"],
        [
            [
                p.group_name,
                p.phone_name,
                p.account,
                p.password,
                p.display_num,
                p.extra.get("registered"),
                p.extra.get("userAgent"),
            ]
            for p in found
        ],
    )
