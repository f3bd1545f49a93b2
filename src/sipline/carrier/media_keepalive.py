"""A little RTP from the built-in peers: one packet of PCMU silence a second to the platform.

The peers carry no audio, but the platform's media plane ends a call that has had no RTP from either
side for ``media_timeout`` seconds, and latches each leg to where its RTP comes from; this keeps a
sandbox call up for as long as its behaviour says.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import struct

from sipline.sip.dialog import Dialog

INTERVAL = 1.0  # seconds between packets
SILENCE = b"\xff" * 160  # 20 ms of PCMU silence
_PCMU = 0


async def send_silence(transport: asyncio.DatagramTransport, dialog: Dialog, to: tuple[str, int]) -> None:
    """Until ``dialog`` ends, one RTP packet every ``INTERVAL`` seconds to ``to``."""
    ssrc, sequence, timestamp = secrets.randbits(32), secrets.randbits(16), secrets.randbits(32)
    while not dialog.terminated.is_set() and not transport.is_closing():
        header = struct.pack("!BBHII", 0x80, _PCMU, sequence, timestamp, ssrc)
        transport.sendto(header + SILENCE, to)
        sequence = (sequence + 1) & 0xFFFF
        timestamp = (timestamp + int(8000 * INTERVAL)) & 0xFFFFFFFF
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dialog.terminated.wait(), INTERVAL)
