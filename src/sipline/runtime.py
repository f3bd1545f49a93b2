"""Running the platform: SIP, the sandbox carrier and the HTTP API (uvicorn), started and stopped in order."""

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn

from sipline.bootstrap import Platform, build_app, build_platform
from sipline.config import Settings
from sipline.domain.destination import destination_code
from sipline.http_limits import limit_http_connections
from sipline.logs import log_handler
from sipline.media.port import MediaError
from sipline.open_files import descriptor_shortfall, raise_open_file_limit, somaxconn
from sipline.services.recordings import SHUTDOWN_GRACE, SWEEP_INTERVAL
from sipline.startup import StartupError, http_socket, sip_listen_errors

log = logging.getLogger("sipline")
HTTP_SHUTDOWN_GRACE = 5  # seconds a stopping server lets HTTP requests in progress finish


@dataclass(frozen=True)
class Running:
    platform: Platform
    base_url: str  # of the voice API, e.g. http://127.0.0.1:8080


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(settings):
        await stop.wait()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    """The whole platform started: SIP first (phones re-register quickly), then the HTTP API.

    On exit, calls in progress are hung up and settled, and the last registrations written.
    """
    open_files = raise_open_file_limit()  # before the SIP connection cap is derived from it
    platform = await build_platform(settings)
    sip = platform.sip
    _log_limits(settings, platform, open_files.describe())
    restored = await platform.bindings.load(datetime.now(UTC))
    credentials = await platform.directory.preload_sip_credentials()
    bindings_writer = asyncio.create_task(platform.bindings.run(settings.binding_flush_interval))
    background: list[asyncio.Task[None]] = []
    try:
        with sip_listen_errors("the sandbox carrier"):
            await platform.start_sandbox()
        try:
            await platform.media.start()
        except MediaError as exc:
            raise StartupError(f"media relay: {exc}") from None
        with sip_listen_errors("SIP"):
            await sip.start()
        await platform.calls.close_interrupted()  # with SIP up: their legs are sent BYE
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
                backlog=settings.listen_backlog,
                limit_concurrency=settings.http_max_connections,
                # At stop, requests still running after this are cancelled: the console's event
                # streams never end by themselves, and uvicorn would otherwise wait for them forever.
                timeout_graceful_shutdown=HTTP_SHUTDOWN_GRACE,
            )
        )
        limit_http_connections(server.config, settings.http_max_connections)
        http = asyncio.create_task(server.serve(sockets=[http_socket(settings.host, settings.http_port)]))
        background.append(asyncio.create_task(platform.directory.watch(settings.directory_poll_interval)))
        background.append(asyncio.create_task(platform.rate_book.watch(settings.directory_poll_interval)))
        background.append(asyncio.create_task(platform.calls.heartbeat(settings.call_activity_interval)))
        background.append(asyncio.create_task(platform.recordings.maintain(SWEEP_INTERVAL)))
        background.append(asyncio.create_task(platform.push.serve()))
        background.append(asyncio.create_task(platform.trunk_health.run()))  # after the sandbox started
        background.append(asyncio.create_task(platform.health_samples.run()))
        await _started(server, http)
        base_url = _announce(server, settings)
        _settle_heap()
        try:
            yield Running(platform, base_url)
        finally:
            server.should_exit = True
            await http
    finally:
        for task in background:
            task.cancel()
        # Wait for them to unwind: a poll cancelled mid-query must close its session before the engine.
        await asyncio.gather(*background, return_exceptions=True)
        await platform.calls.shutdown()  # BYE/CANCEL every call and settle its record
        await platform.media.stop()  # releases the media sessions the calls left
        await sip.stop()
        await platform.recordings.drain(SHUTDOWN_GRACE)  # else the next start encodes them
        if platform.sandbox is not None:
            await platform.sandbox.stop()
        bindings_writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bindings_writer  # writes the last registrations before the database closes
        await platform.close()


def _log_limits(settings: Settings, platform: Platform, open_files: str) -> None:
    limits = platform.sip.config.connections
    log.info(
        "%s; SIP TCP/TLS connections at most %d (%d per address), HTTP %d, RTP sockets %d; listen backlog %d",
        open_files,
        limits.max_connections,
        limits.max_per_address,
        settings.http_max_connections,
        settings.rtp_sockets,
        settings.listen_backlog,
    )
    short = descriptor_shortfall(limits.max_connections, settings.http_max_connections, settings.rtp_sockets)
    if short:
        log.warning(
            "the open-file limit is %d descriptors short of the HTTP connections, the RTP range's %d "
            "sockets and the SIP connection cap: with the range full of calls, connections or calls may "
            "fail on 'too many open files'; raise the hard limit (LimitNOFILE=) or narrow "
            "rtp_port_min..rtp_port_max",
            short,
            settings.rtp_sockets,
        )
    kernel_cap = somaxconn()
    if kernel_cap is not None and kernel_cap < settings.listen_backlog:
        log.warning(
            "listen_backlog %d is capped at %d by net.core.somaxconn", settings.listen_backlog, kernel_cap
        )


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: uvicorn re-raises SIGTERM once it has stopped, which would
    kill the process before the SIP side stops and the last registrations are written."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _started(server: uvicorn.Server, http: asyncio.Task[None]) -> None:
    while not server.started:  # uvicorn offers no start-up event to wait on
        if http.done():  # it could not start (port taken...): its exception says why
            http.result()
            raise RuntimeError("the HTTP server stopped while starting")
        await asyncio.sleep(0.02)


# The collector's thresholds once the start-up heap is frozen (architecture.md, Performance notes).
GC_THRESHOLDS = (60_000, 5, 50)


def _settle_heap() -> None:
    """Tune the cyclic garbage collector for a server that makes many short-lived objects.

    Start-up's objects (modules, libphonenumber's data, caches) are frozen out of the collector's
    sight, and the young generation is collected less often: with CPython's defaults, collections
    were the largest single cost of a call under load (bench/calls).
    """
    destination_code("10000000000")  # loads libphonenumber's lazily read metadata before freezing
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _announce(server: uvicorn.Server, settings: Settings) -> str:
    urls = []
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            urls.append(f"http://{host}:{port}")
            log.info("voice API listening on http://%s:%s (OpenAPI at /docs)", host, port)
    log.info("data directory %s", settings.data_dir.resolve())
    return urls[0] if urls else f"http://{settings.host}:{settings.http_port}"


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (it is with uvicorn[standard]), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def configure_logging(level: str, log_format: str = "text") -> None:
    logging.basicConfig(level=level.upper(), handlers=[log_handler(log_format)])
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger().level))
