"""Helpers for SIP tests: peers, scenarios and running SIPp as a real peer."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port as free_port  # re-exported: the SIP tests import it from here
from tests.peers import require

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str


async def run_sipp(args: list[str], cwd: Path, timeout: float = 60.0) -> SippResult:
    """Run SIPp to completion (it exits 0 only when every call succeeded)."""
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


async def start_sipp(args: list[str], cwd: Path) -> asyncio.subprocess.Process:
    """SIPp left running (e.g. a UAS) until ``stop_sipp``."""
    return await asyncio.create_subprocess_exec(
        SIPP, *args, "-nostdin", cwd=str(cwd), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def stop_sipp(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
