"""The `sipline` command."""

from pathlib import Path

import click

from sipline import __version__
from sipline.cli.admin import admin
from sipline.cli.calls import call
from sipline.cli.demo import demo
from sipline.cli.options import platform_options, settings_from
from sipline.cli.peers import carrier, phone
from sipline.cli.phones import phones
from sipline.cli.records import records


@click.group()
@click.version_option(__version__, prog_name="sipline")
def cli() -> None:
    """sipline: self-hosted cloud SIP phone platform with an ITNIO-compatible voice API."""


@cli.command()
@platform_options
@click.option("--host", help="Listen address (env SIPLINE_HOST, default 127.0.0.1).")
@click.option("--http-port", type=int, help="HTTP API port (env SIPLINE_HTTP_PORT, default 8080).")
@click.option("--sip-port", type=int, help="SIP port, UDP and TCP (env SIPLINE_SIP_PORT, default 5060).")
def serve(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    host: str | None,
    http_port: int | None,
    sip_port: int | None,
) -> None:
    """Run the platform: migrate the database, then serve SIP and the voice API."""
    from sipline.runtime import configure_logging, run
    from sipline.runtime import serve as serve_platform

    settings = settings_from(
        config_file,
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        http_port=http_port,
        sip_port=sip_port,
    )
    configure_logging(settings.log_level)
    run(serve_platform(settings))


for command in (admin, phones, call, carrier, phone, demo):
    cli.add_command(command)
cli.add_command(records)


def main() -> None:
    cli(auto_envvar_prefix=None)
