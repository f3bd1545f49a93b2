"""A headless baresip softphone as a real peer: its own config dir and ports, killed (not quit) at the end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import free_ports
from tests.sip.conftest import BARESIP

# Headless baresip 1.0.0 (Debian 12): no sound card (aubridge), G.711, driven over ctrl_tcp. Its network
# is loopback only (net_interface: else SDP would name the host's own address).
_CONFIG = """\
poll_method\t\tepoll
net_interface\t\t{host}
sip_listen\t\t{host}:{sip}
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,x
audio_source\t\t{source}
audio_alert\t\taubridge,x
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taubridge.so
module\t\t\tctrl_tcp.so
{media_modules}module_tmp\t\tuuid.so
module_tmp\t\taccount.so
module_app\t\tmenu.so
ctrl_tcp_listen\t\t127.0.0.1:{ctrl}
rtp_ports\t\t{rtp}-{rtp_end}
"""


# A phone with a microphone plays a WAV (aufile: 8 kHz mono 16-bit for G.711; the call ends at its end)
# and can learn a NAT's mapped address for its SDP (stun: an account with medianat=stun;stunserver=...).
_MICROPHONE_MODULES = "module\t\t\taufile.so\nmodule\t\t\tstun.so\n"
_RTP_PORTS = 11  # rtp_ports: RTP and RTCP of the calls (call_max_calls 4)
_START_ATTEMPTS = 5
_IN_USE = "Address already in use"
_READY = "baresip is ready."


class Baresip:
    """One headless baresip with its own config dir and ports; killed (not quit) at the end."""

    def __init__(
        self, workdir: Path, account_line: str, microphone: Path | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.dir = workdir
        self.microphone = microphone
        self.host = host  # SIP and RTP from this loopback address (ctrl_tcp stays on 127.0.0.1)
        self.ctrl_port = 0
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "accounts").write_text(account_line + "\n")
        self.proc: asyncio.subprocess.Process | None = None

    def _configure(self) -> None:
        """Fresh ports for everything baresip opens: SIP on UDP and TCP, TLS on SIP + 1, ctrl_tcp, RTP."""
        sip = free_ports(2)
        self.ctrl_port = free_ports(1, exclude={sip, sip + 1})
        rtp = free_ports(_RTP_PORTS, exclude={sip, sip + 1, self.ctrl_port})
        config = _CONFIG.format(
            host=self.host, sip=sip, ctrl=self.ctrl_port, rtp=rtp, rtp_end=rtp + _RTP_PORTS - 1,
            source="aubridge,x" if self.microphone is None else f"aufile,{self.microphone}",
            media_modules="" if self.microphone is None else _MICROPHONE_MODULES,
        )  # fmt: skip
        (self.dir / "config").write_text(config)

    async def start(self) -> None:
        """Start and wait until ready; a port taken between the pick and baresip's bind is picked again."""
        for _attempt in range(_START_ATTEMPTS):
            self._configure()
            with (self.dir / "out.log").open("wb") as out:
                self.proc = await asyncio.create_subprocess_exec(
                    BARESIP, "-f", str(self.dir), stdin=asyncio.subprocess.DEVNULL,
                    stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            await wait_for(self._settled, 15)
            if _IN_USE not in self.log():  # a module (ctrl_tcp) failing to bind does not stop baresip
                if self.proc.returncode is None and _READY in self.log():
                    return
                raise RuntimeError(f"baresip did not start:\n{self.log()}")
            await self.kill()
        raise RuntimeError(f"baresip found its ports in use {_START_ATTEMPTS} times:\n{self.log()}")

    async def _settled(self) -> bool:
        assert self.proc is not None
        return self.proc.returncode is not None or _READY in self.log()

    async def command(self, command: str, params: str = "") -> None:
        """A ctrl_tcp command, e.g. ``command("dial", "+442079460000")`` or ``command("hangup")``."""
        _, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
        payload = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        writer.write(str(len(payload)).encode() + b":" + payload + b",")
        await writer.drain()
        writer.close()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    def log(self) -> str:
        return self.full_log()[-2000:]

    def full_log(self) -> str:
        path = self.dir / "out.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def bitrates(self) -> list[tuple[int, int, int]]:
        """(seconds into the call, sent, received): the RTP bit rates of baresip's status line, about
        ten a second during a call, each an average over the last few seconds."""
        return [
            (int(hours) * 3600 + int(minutes) * 60 + int(seconds), int(sent), int(received))
            for hours, minutes, seconds, sent, received in _STATUS.findall(self.full_log())
        ]


_STATUS = re.compile(r"\[(\d+):(\d\d):(\d\d)\] audio=(\d+)/(\d+) \(bit/s\)")


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Poll `predicate` every 0.1 s until it is true (True) or `timeout` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False
