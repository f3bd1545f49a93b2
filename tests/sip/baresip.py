"""A headless baresip softphone as a real peer: its own config dir and ports, killed (not quit) at the end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.sip.conftest import BARESIP, free_port

# Headless baresip 1.0.0 (Debian 12): no sound card (aubridge), G.711, driven over ctrl_tcp.
_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{sip}
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,x
audio_source\t\taubridge,x
audio_alert\t\taubridge,x
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taubridge.so
module\t\t\tctrl_tcp.so
module_tmp\t\tuuid.so
module_tmp\t\taccount.so
module_app\t\tmenu.so
ctrl_tcp_listen\t\t127.0.0.1:{ctrl}
rtp_ports\t\t{rtp}-{rtp_end}
"""


class Baresip:
    """One headless baresip with its own config dir and ports; killed (not quit) at the end."""

    def __init__(self, workdir: Path, account_line: str) -> None:
        self.dir = workdir
        self.ctrl_port = free_port()
        rtp = free_port()
        config = _CONFIG.format(sip=free_port(), ctrl=self.ctrl_port, rtp=rtp, rtp_end=rtp + 10)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config").write_text(config)
        (workdir / "accounts").write_text(account_line + "\n")
        self.proc: asyncio.subprocess.Process | None = None
        self.out = (workdir / "out.log").open("wb")

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            BARESIP, "-f", str(self.dir), stdin=asyncio.subprocess.DEVNULL,
            stdout=self.out, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    async def command(self, command: str) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
        payload = json.dumps({"command": command, "params": "", "token": "t"}).encode()
        writer.write(str(len(payload)).encode() + b":" + payload + b",")
        await writer.drain()
        writer.close()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self.out.close()

    def log(self) -> str:
        return (self.dir / "out.log").read_text(errors="replace")[-2000:]


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Poll `predicate` every 0.1 s until it is true (True) or `timeout` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False
