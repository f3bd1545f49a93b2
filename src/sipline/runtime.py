"""Running the platform: the HTTP API under uvicorn (and, as they land, the SIP and media planes)."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import uvicorn

from sipline.bootstrap import build_app, build_platform
from sipline.config import Settings

log = logging.getLogger("sipline")


async def serve(settings: Settings) -> None:
    platform = await build_platform(settings)
    try:
        config = uvicorn.Config(
            build_app(platform),
            host=settings.host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        server = uvicorn.Server(config)
        background = [
            asyncio.create_task(_announce(server, settings)),
            asyncio.create_task(platform.directory.watch(settings.directory_poll_interval)),
        ]
        await server.serve()
        for task in background:
            task.cancel()
    finally:
        await platform.close()


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
