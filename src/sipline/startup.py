"""Start-up failures: the one line an operator reads when `sipline serve` cannot start.

Each step that can fail for a reason outside the program (a port taken, a directory not writable, a
database down, a bad URL) raises `StartupError` naming what failed and the value; the CLI prints it
once, without a traceback, after the partial start-up has been undone.
"""

import contextlib
import logging
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sipline.sip.transport import ListenError

log = logging.getLogger("sipline")


class StartupError(Exception):
    """The platform cannot start; the message (one line) says what failed, with the value."""


def reason(exc: BaseException) -> str:
    """The innermost cause of `exc` as a short phrase: 'address already in use', 'connection refused'."""
    while True:
        inner = getattr(exc, "orig", None) or exc.__cause__  # SQLAlchemy wraps the driver's error
        if not isinstance(inner, BaseException) or inner is exc:
            break
        exc = inner
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    text = re.sub(r"^<class '[\w.]+'>: ", "", text)  # asyncpg's errors as SQLAlchemy re-raises them
    first = " ".join(text.split("\n")[0].split())
    return first[:1].lower() + first[1:]


def prepare_data_dir(path: Path) -> None:
    """Create the data directory if needed and prove it writable (the database, keys and tokens go there)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise StartupError(f"data directory {path} is not writable: {reason(exc)}") from None


def safe_url(url: str) -> str:
    """The database URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not parsable (e.g. a port that is not a number)
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Opening and migrating the database: a bad URL or an unreachable server becomes one line."""
    try:
        yield
    except ArgumentError as exc:  # also NoSuchModuleError: an unknown scheme or driver
        raise StartupError(f"invalid database URL {safe_url(url)}: {reason(exc)}") from None
    except ValueError as exc:  # store.database: neither sqlite nor postgresql
        raise StartupError(f"invalid database URL {safe_url(url)}: {reason(exc)}") from None
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        log.debug("opening the database failed", exc_info=True)
        raise StartupError(f"cannot open the database {safe_url(url)}: {reason(exc)}") from None


def http_socket(host: str, port: int) -> socket.socket:
    """The HTTP API's listening socket, bound here so that a taken port is a clear error (uvicorn
    would log it and exit the process from inside its task, skipping the SIP side's shutdown)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen for HTTP on {host}:{port}: {reason(exc)}") from None
    return sock


@contextlib.contextmanager
def sip_listen_errors(what: str) -> Iterator[None]:
    """Starting a SIP listener (`what`: "SIP", "the sandbox carrier"): a taken port becomes one line."""
    try:
        yield
    except ListenError as exc:
        host, port = exc.address
        raise StartupError(
            f"cannot listen for {what} on {host}:{port}/{exc.protocol}: {reason(exc)}"
        ) from None
