"""`sipline serve` that cannot start: one line on stderr naming what failed and the value, a non-zero
exit, no traceback, and nothing left open by the half-done start-up."""

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from sipline.runtime import running
from sipline.startup import StartupError
from tests.conftest import PG_URL, make_settings

SIPLINE = [sys.executable, "-m", "sipline"]


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`sipline serve` on any free ports, in its own data directory, with only these SIPLINE_* variables."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SIPLINE_")}
    clean |= {"SIPLINE_DATA_DIR": str(tmp_path / "data"), "SIPLINE_HTTP_PORT": "0", "SIPLINE_SIP_PORT": "0"}
    return subprocess.run(
        [*SIPLINE, "serve", *args], env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )


def failure(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed start ends with (after a non-zero exit and no traceback)."""
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.splitlines()[-1]


def assert_fails_with(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert failure(result) == message, result.stderr[-2000:]


@pytest.fixture
def taken_tcp() -> Iterator[int]:
    """A loopback TCP port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def taken_udp() -> Iterator[int]:
    """A loopback UDP port some other program has bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.slow
def test_http_port_in_use(tmp_path: Path, taken_tcp: int) -> None:
    assert_fails_with(
        serve(tmp_path, "--http-port", str(taken_tcp)),
        f"sipline: cannot listen for HTTP on 127.0.0.1:{taken_tcp}: address already in use",
    )


@pytest.mark.slow
def test_sip_udp_port_in_use(tmp_path: Path, taken_udp: int) -> None:
    assert_fails_with(
        serve(tmp_path, "--sip-port", str(taken_udp)),
        f"sipline: cannot listen for SIP on 127.0.0.1:{taken_udp}/udp: address already in use",
    )


@pytest.mark.slow
def test_sip_tcp_port_in_use(tmp_path: Path, taken_tcp: int) -> None:
    assert_fails_with(
        serve(tmp_path, "--sip-port", str(taken_tcp)),
        f"sipline: cannot listen for SIP on 127.0.0.1:{taken_tcp}/tcp: address already in use",
    )


@pytest.mark.slow
def test_sip_tls_port_in_use(tmp_path: Path, taken_tcp: int) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = {"SIPLINE_SIP_TLS_CERTIFICATE": str(cert), "SIPLINE_SIP_TLS_PRIVATE_KEY": str(key)}
    assert_fails_with(
        serve(tmp_path, SIPLINE_SIP_TLS_PORT=str(taken_tcp), **tls),
        f"sipline: cannot listen for SIP on 127.0.0.1:{taken_tcp}/tls: address already in use",
    )


@pytest.mark.parametrize("where", ["under a file", "is a file"])
def test_data_directory_not_writable(tmp_path: Path, where: str) -> None:
    # Made unusable by a file, not by permissions: the tests may run as root, who writes anywhere.
    (tmp_path / "occupied").write_text("")
    data_dir = tmp_path / "occupied" / "data" if where == "under a file" else tmp_path / "occupied"
    reason = "not a directory" if where == "under a file" else "file exists"
    assert_fails_with(
        serve(tmp_path, "--data-dir", str(data_dir)),
        f"sipline: data directory {data_dir} is not writable: {reason}",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://postgres:hunter2@127.0.0.1:1/x",
            "cannot open the database postgresql://postgres:***@127.0.0.1:1/x: connection refused",
        ),
        (
            "mysql://root:hunter2@127.0.0.1/x",
            "invalid database URL mysql://root:***@127.0.0.1/x: "
            "unsupported database 'mysql': use sqlite or postgresql",
        ),
        ("not a url", "invalid database URL not a url: could not parse SQLAlchemy URL from given URL string"),
        (
            "postgresql://u:hunter2@127.0.0.1:port/x",
            "invalid database URL postgresql://u:***@127.0.0.1:port/x: "
            "invalid literal for int() with base 10: 'port'",
        ),
    ],
)
def test_database_url_unreachable_or_wrong(tmp_path: Path, url: str, message: str) -> None:
    result = serve(tmp_path, "--database-url", url)
    assert_fails_with(result, f"sipline: {message}")
    assert "hunter2" not in result.stderr


@pytest.mark.postgres
@pytest.mark.skipif(PG_URL is None, reason="needs SIPLINE_TEST_DATABASE_URL")
def test_database_that_does_not_exist(tmp_path: Path) -> None:
    assert PG_URL is not None
    configured = make_url(PG_URL)
    absent = configured.set(database=f"{configured.database}_absent").render_as_string(hide_password=True)
    assert_fails_with(
        serve(tmp_path, "--database-url", absent),
        f'sipline: cannot open the database {absent}: database "{configured.database}_absent" does not exist',
    )


@pytest.mark.parametrize("certificate", ["missing", "garbage"])
def test_certificate_unreadable(tmp_path: Path, certificate: str) -> None:
    cert = tmp_path / "cert.pem"
    if certificate == "garbage":
        cert.write_text("not a certificate\n")
    reason = "no such file or directory" if certificate == "missing" else "[SSL] PEM lib"
    result = serve(
        tmp_path,
        SIPLINE_SIP_TLS_PORT="0",
        SIPLINE_SIP_TLS_CERTIFICATE=str(cert),
        SIPLINE_SIP_TLS_PRIVATE_KEY=str(cert),
    )
    assert failure(result).startswith(
        f"sipline: cannot load the SIP TLS certificate {cert} or key {cert}: {reason}"
    )


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        (
            None,
            {"SIPLINE_HTTP_PORT": "abc"},
            "invalid configuration: http_port: Input should be a valid integer, "
            "unable to parse string as an integer (got 'abc')",
        ),
        (
            None,
            {"SIPLINE_SIP_PORT": "70000"},
            "invalid configuration: sip_port: Input should be less than or equal to 65535 (got '70000')",
        ),
        ("http_port = [\n", {}, "cannot read config file {path}: Invalid value (at end of document)"),
        ("colour = 'blue'\n", {}, "invalid configuration: colour: Extra inputs are not permitted"),
        (None, {"SIPLINE_TRUNKS": "{not json"}, "invalid configuration: error parsing value for field"),
        (None, {"SIPLINE_SECRET_KEY": "abc"}, "secret_key: the secret key is not valid base64"),
        (None, {"SIPLINE_SECRET_KEY": "YWJj"}, "secret_key: the secret key must be 32 bytes"),
    ],
)
def test_bad_configuration(tmp_path: Path, toml: str | None, env: dict[str, str], message: str) -> None:
    path = tmp_path / "sipline.toml"
    args = []
    if toml is not None:
        path.write_text(toml)
        args = ["--config", str(path)]
    result = serve(tmp_path, *args, **env)
    assert failure(result).startswith(f"sipline: {message.format(path=path)}")
    if "SIPLINE_SECRET_KEY" in env:
        assert env["SIPLINE_SECRET_KEY"] not in result.stderr  # a secret's value is never echoed


def _open_sockets() -> set[str]:
    """This process's open sockets (their inodes): listeners, database connections."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is closed by now
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith("socket:"):
                found.add(link)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("taken", ["http", "sip"])
async def test_a_failed_start_closes_what_it_opened(
    tmp_path: Path, database_url: str, taken: str, taken_tcp: int
) -> None:
    # The SIP side (and the sandbox carrier) start before the HTTP API, the database before both:
    # whichever fails, every socket and database connection opened so far is closed again.
    before = _open_sockets()
    settings = make_settings(tmp_path, database_url, **{f"{taken}_port": taken_tcp})
    with pytest.raises(StartupError, match=f"cannot listen for {taken.upper()} on 127.0.0.1:{taken_tcp}"):
        async with running(settings):
            pytest.fail("started on a port in use")
    assert _open_sockets() - before == set()
