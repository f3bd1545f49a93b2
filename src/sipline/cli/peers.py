"""`sipline carrier` and `sipline phone`: the built-in SIP peers as stand-alone processes."""

import asyncio
import signal

import click

from sipline.carrier import SandboxCarrier, VirtualPhone
from sipline.carrier.phone import RegistrationError


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _host_port(value: str) -> tuple[str, int]:
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit():
        raise click.BadParameter(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", type=int, default=5070, show_default=True, help="SIP port, UDP and TCP.")
@click.option("--ring-seconds", type=float, default=1.0, show_default=True, help="How long it rings.")
def carrier(host: str, port: int, ring_seconds: float) -> None:
    """Run the sandbox carrier: a SIP trunk that behaves by the callee number (docs/operations.md)."""
    from sipline.runtime import configure_logging, run

    configure_logging("INFO")

    async def main() -> None:
        sandbox = SandboxCarrier(host, port, ring_seconds=ring_seconds)
        await sandbox.start()
        click.echo(f"sandbox carrier on sip:{host}:{sandbox.port} (udp, tcp); Ctrl-C stops it")
        try:
            await _until_signal()
        finally:
            await sandbox.stop()

    run(main())


@click.command()
@click.option("--account", required=True, help="SIP account (sipQuery shows it).")
@click.option("--password", required=True, help="SIP password (sipQuery shows it).")
@click.option("--server", default="127.0.0.1:5060", show_default=True, help="Registrar HOST:PORT.")
@click.option("--domain", default="sipline.local", show_default=True, help="SIP domain of the platform.")
@click.option("--transport", type=click.Choice(["udp", "tcp"]), default="udp", show_default=True)
@click.option("--answer-after", type=float, default=1.0, show_default=True, help="Seconds before answering.")
def phone(account: str, password: str, server: str, domain: str, transport: str, answer_after: float) -> None:
    """Run a virtual phone: register, keep registered, answer every call."""
    from sipline.runtime import configure_logging, run

    configure_logging("INFO")
    registrar = _host_port(server)

    async def main() -> None:
        virtual = VirtualPhone(
            registrar, account, password, domain=domain, transport=transport, answer_after=answer_after
        )
        try:
            await virtual.start()
        except (RegistrationError, OSError) as exc:
            await virtual.stop(unregister=False)
            raise click.ClickException(f"registration failed: {exc}") from None
        click.echo(f"phone {account} registered at {server} ({transport}); answering calls, Ctrl-C stops it")
        try:
            await _until_signal()
        finally:
            await virtual.stop()

    run(main())
