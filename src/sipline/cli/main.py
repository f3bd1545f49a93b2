"""The `sipline` command."""

import sys
from pathlib import Path

import click

from sipline import __version__
from sipline.cli.admin import admin
from sipline.cli.billing import balance, ledger
from sipline.cli.calls import call
from sipline.cli.demo import demo
from sipline.cli.options import platform_options
from sipline.cli.peers import carrier, phone
from sipline.cli.phones import phones
from sipline.cli.rates import rates
from sipline.cli.records import records
from sipline.config import ConfigError, load_settings
from sipline.startup import StartupError


@click.group()
@click.version_option(__version__, prog_name="sipline")
def cli() -> None:
    """sipline: self-hosted cloud SIP phone platform with an ITNIO-compatible voice API."""


@cli.command()
@platform_options
@click.option("--host", help="Listen address (env SIPLINE_HOST, default 127.0.0.1).")
@click.option("--http-port", type=int, help="HTTP API port (env SIPLINE_HTTP_PORT, default 8080).")
@click.option("--sip-port", type=int, help="SIP port, UDP and TCP (env SIPLINE_SIP_PORT, default 5060).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines (env SIPLINE_LOG_FORMAT, default text).",
)
def serve(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    host: str | None,
    http_port: int | None,
    sip_port: int | None,
    log_format: str | None,
) -> None:
    """Run the platform: migrate the database, then serve SIP and the voice API."""
    from sipline.runtime import configure_logging, run
    from sipline.runtime import serve as serve_platform

    settings = load_settings(  # a ConfigError is a start-up failure here: one line, see main()
        config_file,
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        http_port=http_port,
        sip_port=sip_port,
        log_format=log_format,
    )
    configure_logging(settings.log_level, settings.log_format)
    run(serve_platform(settings))


for command in (admin, phones, call, carrier, phone, demo):
    cli.add_command(command)
cli.add_command(records)
admin.add_command(rates)
cli.add_command(balance)
cli.add_command(ledger)


def main() -> None:
    try:
        cli(auto_envvar_prefix=None)
    except (ConfigError, StartupError) as exc:
        # Raised after the partial start-up was undone: the operator reads one line, not a traceback.
        click.echo(f"sipline: {' '.join(str(exc).split())}", err=True)
        sys.exit(1)
