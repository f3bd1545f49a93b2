"""Helpers for SIP tests: peers, scenarios and running SIPp as a real peer."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.conftest import HeldPort, free_ports, port_free
from tests.conftest import free_port as free_port  # re-exported: the SIP tests import it from here
from tests.peers import require

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class SippMessage:
    """One message in SIPp's -trace_msg log, with SIPp's own time of sending or receiving it."""

    at: datetime
    sent: bool
    first_line: str


def sipp_messages(log: Path) -> list[SippMessage]:
    """The messages of a ``-trace_msg -message_file LOG`` run, in order."""
    found = []
    lines = log.read_text(errors="replace").splitlines()
    for number, line in enumerate(lines):
        stamp = _SIPP_STAMP.match(line)
        if stamp is None or number + 3 >= len(lines):
            continue
        found.append(
            SippMessage(datetime.fromisoformat(stamp[1]), " sent " in lines[number + 1], lines[number + 3])
        )
    return found


def sipp_time(messages: list[SippMessage], *, sent: bool, starts: str) -> datetime:
    """When SIPp first sent (or received) a message whose first line starts with `starts`."""
    return next(m.at for m in messages if m.sent == sent and m.first_line.startswith(starts))


_SIPP_STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$")


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str


# SIPp's own words when a socket it opens at start is taken: its main (SIP) socket, its media sockets
# (-mp: audio on N, video on N + 2) or its control socket (-cp).
_IN_USE = "errno = 98"
_MAIN_SOCKET = "Unable to bind main socket"
_START_ATTEMPTS = 5


def sipp_ports(args: list[str]) -> list[str]:
    """`args` with fresh free ports for what SIPp opens besides what the caller gave: media (-mp, two
    ports: N and N + 2) and control (-cp) always, the SIP port (-p) when the caller gave none.

    A -p the caller gave was promised to the other side (a UAS the test sends to, a configured trunk)
    and is kept; pass it held (``tests.conftest.HeldPort``) so that nothing takes it before SIPp binds.
    """
    kept: list[str] = []
    given = iter(args)
    for arg in given:
        if arg in ("-mp", "-cp"):
            next(given, None)
        else:
            kept.append(arg)
    if "-p" not in kept:
        kept += ["-p", str(free_port())]
    return [*kept, "-mp", str(free_ports(3)), "-cp", str(free_ports(1))]


def _retry_on(err: str, args: list[str], attempt: int) -> bool:
    """Whether SIPp's start failed on a port taken since it was picked, and may run again on new ones."""
    if _IN_USE not in err:
        return False
    if _MAIN_SOCKET in err and "-p" in args:
        raise RuntimeError(f"SIPp's promised port {args[args.index('-p') + 1]} is taken: {err[-500:]}")
    return attempt + 1 < _START_ATTEMPTS


async def run_sipp(
    args: list[str], cwd: Path, timeout: float = 60.0, held: HeldPort | None = None
) -> SippResult:
    """Run SIPp to completion (it exits 0 only when every call succeeded); a port taken at its start
    is picked again (see `sipp_ports`), so the result is never a bind failure."""
    for attempt in range(_START_ATTEMPTS):
        if held is not None:
            held.release()
        result = await _run_sipp_once(sipp_ports(args), cwd, timeout)
        if not _retry_on(result.stderr, args, attempt):
            return result
    raise AssertionError("unreachable")


async def _run_sipp_once(args: list[str], cwd: Path, timeout: float) -> SippResult:
    proc = await asyncio.create_subprocess_exec(
        SIPP,
        *args,
        "-nostdin",
        "-timeout",
        f"{int(timeout)}",
        "-timeout_error",
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 10)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    except asyncio.CancelledError:  # a cancelled test must not leave SIPp running
        proc.kill()
        await proc.wait()
        raise
    return SippResult(proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode())


def need(binary: str) -> None:
    """Skip without the peer, except in CI where a missing peer fails (see tests/peers.py)."""
    require(Path(binary).name)


async def start_sipp(args: list[str], cwd: Path, held: HeldPort | None = None) -> asyncio.subprocess.Process:
    """SIPp left running (e.g. a UAS) until ``stop_sipp``; returns once its SIP port is bound."""
    for attempt in range(_START_ATTEMPTS):
        if held is not None:
            held.release()
        full = sipp_ports(args)
        errors = sipp_errors(cwd, int(full[full.index("-p") + 1]))
        with errors.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                SIPP, *full, "-nostdin", cwd=str(cwd), stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        if await _bound(proc, int(full[full.index("-cp") + 1])):
            return proc
        if not _retry_on(errors.read_text(errors="replace"), args, attempt):
            raise RuntimeError(f"SIPp did not start: {errors.read_text(errors='replace')[-1000:]}")
    raise AssertionError("unreachable")


def sipp_errors(cwd: Path, port: int) -> Path:
    """Where `start_sipp` writes the standard error of the SIPp on this SIP port."""
    return cwd / f"sipp-{port}.err"


async def sipp_listening(held: HeldPort, timeout: float = 10.0) -> None:
    """Wait until SIPp, started in the background on this held port, has bound it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not held.released or port_free(held.port):
        assert loop.time() < deadline, f"SIPp did not bind port {held.port}"
        await asyncio.sleep(0.02)


async def _bound(proc: asyncio.subprocess.Process, control_port: int, timeout: float = 10.0) -> bool:
    """True once SIPp has bound its control port, the last of its sockets; False if it exited first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while proc.returncode is None and loop.time() < deadline:
        if not port_free(control_port):
            return True
        await asyncio.sleep(0.02)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 1)
    return False


async def stop_sipp(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
