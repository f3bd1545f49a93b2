"""The embedded media plane: RTP relayed by this process, on asyncio datagram endpoints.

Timers are per plane, never per packet: one tick about every second drives every session's media
timeout, activity report, re-latch clock and recorder flush; one 20 ms cadence, running only while
some leg hears ringback, sends the tone frames. The sessions are ticked in ``TICK_SLOTS`` groups
spread over the second, so that the recorders' writes never stall the loop all at once.

Batching (``batch_seconds``, with ``batch_min_pps``): each leg gets a packet every 20 ms, so at a
few hundred calls nearly every packet is a wake-up of its own (epoll, a context switch, caches cold),
which costs more than relaying it. So, like a network card's interrupt moderation, once the plane
relays at least ``batch_min_pps`` packets a second (measured every tick), the loop's turns are kept
at least ``batch_seconds`` apart: a turn that came sooner naps the rest of the window, so packets
gather in the sockets' buffers and one wake-up reads many. A packet (and every other callback on
the loop) waits at most that much longer, and only under that load; a turn that was longer than the
window anyway naps not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from pathlib import Path

from sipline.media.port import Leg, MediaError, MediaEvents, MediaHealth, MediaSession, NoFreePort
from sipline.media.relay.leg import LegMedia, RtcpProtocol, RtpProtocol
from sipline.media.relay.ports import PortAllocator
from sipline.media.relay.session import RelaySession

log = logging.getLogger("sipline.media")

TICK_SECONDS = 1.0
TICK_SLOTS = 10
RINGBACK_FRAME_SECONDS = 0.02


class EmbeddedMediaPlane:
    """A ``MediaPlane`` whose sessions relay RTP through this process's sockets on ``host``."""

    def __init__(
        self,
        host: str,
        port_min: int,
        port_max: int,
        *,
        media_timeout: float,
        spool: Path,
        advertised: str | None = None,
        tick_seconds: float = TICK_SECONDS,
        batch_seconds: float = 0.0,
        batch_min_pps: int = 0,
    ) -> None:
        self.host = host
        self.advertised = advertised or host  # the address every SDP of the relay names
        self.media_timeout = media_timeout
        self.spool = spool
        self.clock = time.monotonic
        self._ports = PortAllocator(host, port_min, port_max)
        self._tick_seconds = tick_seconds
        self._sessions: set[RelaySession] = set()
        self._slots: list[set[RelaySession]] = [set() for _ in range(TICK_SLOTS)]
        self._next_slot = 0
        self._ringing: set[tuple[RelaySession, Leg]] = set()
        self._ring_timer: asyncio.Handle | None = None
        self._next_ring = 0.0
        self._ticker: asyncio.Task[None] | None = None
        self._batch_seconds = batch_seconds
        self._batch_min_pps = batch_min_pps
        self._batching = False  # the relayed packet rate is at or above batch_min_pps
        self._rate_mark = (0.0, 0)  # (time, packets relayed) at the last rate measurement
        self._batcher: asyncio.Task[None] | None = None
        self._released_counts = (0, 0)  # relayed, dropped: the released legs' share of packet_counts

    @property
    def ports(self) -> PortAllocator:
        return self._ports

    def allocate(self, call_id: str, events: MediaEvents) -> MediaSession:
        loop = asyncio.get_running_loop()
        agent = self._ports.allocate()
        try:
            callee = self._ports.allocate()
        except NoFreePort:
            agent.close()
            self._ports.release(agent)
            raise
        session = RelaySession(self, call_id, events, agent, callee)
        for leg, media in session.legs.items():
            peer = session.legs[leg.other]
            media.opening = (
                _open(loop, RtpProtocol(media, peer), media.pair.rtp),
                _open(loop, RtcpProtocol(media, peer), media.pair.rtcp),
            )
        self._sessions.add(session)
        self._slots[self._next_slot].add(session)
        self._next_slot = (self._next_slot + 1) % TICK_SLOTS
        return session

    def sessions(self) -> int:
        return len(self._sessions)

    def health(self) -> MediaHealth:
        capacity = self._ports.capacity
        return MediaHealth(self._ticker is not None, capacity, capacity - self._ports.in_use)

    def packet_counts(self) -> tuple[int, int]:
        relayed, dropped = self._released_counts
        for session in self._sessions:  # at scrape time only: nothing per packet
            for media in session.legs.values():
                if not media.closed:
                    relayed, dropped = relayed + media.packets_out, dropped + media.dropped
        return relayed, dropped

    async def start(self) -> None:
        """Start the timers; MediaError when the relay has no address to name in SDP."""
        try:
            unspecified = ipaddress.ip_address(self.advertised).is_unspecified
        except ValueError:
            unspecified = True  # a host name: SDP wants the address itself
        if unspecified:
            raise MediaError(f"{self.advertised} is no address to name in SDP: set media_address")
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"cannot create the recording spool {self.spool}: {exc.strerror}") from None
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever())
        if self._batcher is None and self._batch_seconds > 0:
            self._batcher = asyncio.create_task(self._batch_forever())

    async def stop(self) -> None:
        for session in list(self._sessions):
            session.release()
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None
        for task in (self._ticker, self._batcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._batcher = None
        for _ in range(3):  # let the transports (and cancelled attachments) close their sockets
            await asyncio.sleep(0)

    # used by the sessions

    def close_leg(self, media: LegMedia) -> None:
        media.closed = True
        for transport, opening in zip((media.rtp, media.rtcp), media.opening, strict=True):
            if transport is not None:
                transport.close()  # closes its socket once it has stopped watching it
            else:
                opening.cancel()  # not attached yet: the socket is closed when the task ends
        media.rtp = media.rtcp = None
        relayed, dropped = self._released_counts
        self._released_counts = (relayed + media.packets_out, dropped + media.dropped)
        media.opening = ()  # a finished task holds its (transport, protocol): a cycle through the leg
        self._ports.release(media.pair)

    def forget(self, session: RelaySession) -> None:
        self._sessions.discard(session)
        for slot in self._slots:
            slot.discard(session)
        self._ringing = {entry for entry in self._ringing if entry[0] is not session}

    def ring(self, session: RelaySession, leg: Leg) -> None:
        self._ringing.add((session, leg))
        if self._ring_timer is None:
            loop = asyncio.get_running_loop()
            self._next_ring = loop.time()
            self._ring_timer = loop.call_soon(self._send_ringback)

    # the timers

    def _send_ringback(self) -> None:
        self._ring_timer = None
        for entry in list(self._ringing):
            session, leg = entry
            if not session.send_ringback(leg):
                self._ringing.discard(entry)
        if not self._ringing:
            return
        loop = asyncio.get_running_loop()
        self._next_ring += RINGBACK_FRAME_SECONDS
        if self._next_ring < loop.time() - 0.1:  # the loop was blocked: do not send a burst
            self._next_ring = loop.time()
        self._ring_timer = loop.call_at(self._next_ring, self._send_ringback)

    async def _tick_forever(self) -> None:
        slot = 0
        while True:
            await asyncio.sleep(self._tick_seconds / TICK_SLOTS)
            slot = (slot + 1) % TICK_SLOTS
            now = self.clock()
            if slot == 0:
                self._measure_rate(now)
            for session in list(self._slots[slot]):
                try:
                    session.tick(now)
                except Exception:  # one call's failing listener must not stop the others' timers
                    log.exception("media tick of call %s failed", session.call_id)

    def _measure_rate(self, now: float) -> None:
        """Once a tick: the packets relayed per second since the last one decide on batching."""
        relayed = self.packet_counts()[0]
        then, before = self._rate_mark
        self._rate_mark = (now, relayed)
        if now > then:
            rate = (relayed - before) / (now - then)
            self._batching = bool(self._sessions) and rate >= self._batch_min_pps

    @property
    def batching(self) -> bool:
        """Whether the loop's turns are being spaced out now (the packet rate is high enough)."""
        return self._batching

    async def _batch_forever(self) -> None:
        window = self._batch_seconds
        last_turn = time.monotonic()
        while True:
            if self._batching and self._sessions:
                early = window - (time.monotonic() - last_turn)
                if early > 0:
                    time.sleep(early)  # noqa: ASYNC251  # blocking on purpose: packets queue meanwhile
                last_turn = time.monotonic()
                await asyncio.sleep(0)  # one turn: every socket ready by now read in one wake-up
            else:
                await asyncio.sleep(self._tick_seconds / TICK_SLOTS)  # light load: no added latency
                last_turn = time.monotonic()


def _open(
    loop: asyncio.AbstractEventLoop, protocol: asyncio.DatagramProtocol, sock: socket.socket
) -> asyncio.Task[object]:
    """Attach ``sock`` to the loop; ``allocate`` is synchronous, so this completes on the loop.

    A socket is closed by us only when no transport owns it (the task was cancelled or failed):
    closing it under a transport could let the descriptor's number be reused while the transport
    still watches it.
    """
    task: asyncio.Task[object] = loop.create_task(loop.create_datagram_endpoint(lambda: protocol, sock=sock))
    task.add_done_callback(lambda done: _endpoint_made(done, sock))
    return task


def _endpoint_made(task: asyncio.Task[object], sock: socket.socket) -> None:
    if task.cancelled():
        sock.close()
    elif task.exception() is not None:
        sock.close()
        log.error("cannot attach an RTP socket: %r", task.exception())
