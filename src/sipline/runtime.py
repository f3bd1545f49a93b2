"""Running the platform: the HTTP API under uvicorn (and, as they land, the SIP and media planes)."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any

import uvicorn

from sipline.bootstrap import build_app, build_platform
from sipline.config import Settings

log = logging.getLogger("sipline")


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: SIP first (phones re-register quickly), then the HTTP API."""
    platform = await build_platform(settings)
    sip = platform.sip
    restored = await platform.bindings.load(datetime.now(UTC))
    await platform.calls.close_interrupted()
    credentials = await platform.directory.preload_sip_credentials()
    bindings_writer = asyncio.create_task(platform.bindings.run(settings.binding_flush_interval))
    try:
        await platform.start_sandbox()
        await sip.start()
        log.info(
            "SIP listening on %s:%s (udp, tcp); %d phones, %d registrations restored",
            settings.host,
            sip.port,
            credentials,
            restored,
        )
        server = _Server(
            uvicorn.Config(
                build_app(platform),
                host=settings.host,
                port=settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
                server_header=False,
            )
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.handle_exit, signum, None)
        background = [
            asyncio.create_task(_announce(server, settings)),
            asyncio.create_task(platform.directory.watch(settings.directory_poll_interval)),
        ]
        await server.serve()
        for task in background:
            task.cancel()
        # Wait for them to unwind: a poll cancelled mid-query must close its session before the engine.
        await asyncio.gather(*background, return_exceptions=True)
    finally:
        await platform.calls.shutdown()  # BYE/CANCEL every call and settle its record
        await sip.stop()
        if platform.sandbox is not None:
            await platform.sandbox.stop()
        bindings_writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bindings_writer  # writes the last registrations before the database closes
        await platform.close()


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: uvicorn re-raises SIGTERM once it has stopped, which would
    kill the process before the SIP side stops and the last registrations are written."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _announce(server: uvicorn.Server, settings: Settings) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no start-up event to wait on
        await asyncio.sleep(0.05)
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            log.info("voice API listening on http://%s:%s (OpenAPI at /docs)", host, port)
    log.info("data directory %s", settings.data_dir.resolve())


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (it is with uvicorn[standard]), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger().level))
