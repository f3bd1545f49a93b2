"""`sipline demo`: one command from nothing to a completed call and its record.

It starts the platform (with the sandbox carrier as trunk) on a fresh data directory, creates an
account, an app and a phone, registers a virtual phone with the phone's credentials, invokes a call
through the voice API and prints the record the API returns.
"""

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path

import click

from sipline.carrier import VirtualPhone
from sipline.cli.records import print_record
from sipline.client import AsyncClient, CallRecord
from sipline.config import Settings


@click.command()
@click.option("--callee", default="442079469005", show_default=True, help="Number to call (sandbox table).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Keep the platform's data here.")
@click.option("--http-port", type=int, default=0, help="HTTP API port (default: any free port).")
@click.option("--sip-port", type=int, default=0, help="SIP port (default: any free port).")
def demo(callee: str, data_dir: Path | None, http_port: int, sip_port: int) -> None:
    """Start the platform, register a virtual phone, place a call and print its record."""
    from sipline.runtime import configure_logging

    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="sipline-demo-") as scratch:
        settings = Settings(
            data_dir=data_dir or Path(scratch),
            http_port=http_port,
            sip_port=sip_port,
            phone_ring_timeout=15,
        )
        record = run_demo(settings, callee)
    click.echo("")
    print_record(record, as_json=False)


def run_demo(settings: Settings, callee: str) -> CallRecord:
    from sipline.runtime import run

    result: list[CallRecord] = []

    async def main() -> None:
        result.append(await _demo(settings, callee))

    run(main())
    return result[0]


async def _demo(settings: Settings, callee: str) -> CallRecord:
    from sipline.runtime import running

    async with running(settings) as live:
        platform = live.platform
        account = await platform.tenancy.create_account(name="demo", balance=Decimal("10"))
        app = await platform.tenancy.create_app(account.api_key, name="demo")
        click.echo(f"voice API   {live.base_url}   apiKey {account.api_key}   appId {app.app_id}")
        async with AsyncClient(live.base_url, account.api_key, account.api_secret) as client:
            await client.sip_add(app.app_id, "demo-desk", "agent", 1, "1008122211")
            phone = (await client.sip_query(app.app_id)).records[0]
            click.echo(f"phone       {phone.phone_name}: account {phone.account}, password {phone.password}")
            virtual = VirtualPhone(
                ("127.0.0.1", platform.sip.port), phone.account, phone.password, domain=settings.sip_domain
            )
            await virtual.start()
            click.echo(
                f"registered  virtual phone at sip:{settings.sip_domain} (127.0.0.1:{platform.sip.port})"
            )
            try:
                voice_id = await client.send_sip(app.app_id, phone.account, callee, "1008122211", "demo call")
                click.echo(f"sendSip     voiceId {voice_id}: ringing the phone, then calling {callee}")
                # polled through the API, as a client would: that is what the demo shows
                while (record := await client.record_sip(voice_id)).hangup_time is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                return record
            finally:
                await virtual.stop()
