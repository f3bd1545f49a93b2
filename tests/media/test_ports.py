"""RTP port pairs: even RTP, RTCP + 1, ports held by others skipped, exhaustion, no leaks."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from sipline.media.port import Leg, MediaError, NoFreePort
from sipline.media.relay import EmbeddedMediaPlane
from sipline.media.relay.ports import PortAllocator
from tests.conftest import free_ports
from tests.media.calls import bridged_call
from tests.media.peers import Events, phone_sdp


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_pairs_are_even_and_odd_and_skip_ports_held_by_others() -> None:
    first = free_ports(8)
    first += first % 2
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", first + 1))  # the RTCP port of the first pair
    try:
        ports = PortAllocator("127.0.0.1", first, first + 5)
        pair = ports.allocate()
        assert pair.port == first + 2 and pair.port % 2 == 0
        assert pair.rtp.getsockname() == ("127.0.0.1", first + 2)
        assert pair.rtcp.getsockname() == ("127.0.0.1", first + 3)
        second = ports.allocate()
        assert second.port == first + 4
        with pytest.raises(NoFreePort):
            ports.allocate()
        for taken in (pair, second):
            taken.close()
            ports.release(taken)
        assert ports.in_use == 0
    finally:
        holder.close()


def test_a_range_without_a_pair_is_refused() -> None:
    with pytest.raises(ValueError):
        PortAllocator("127.0.0.1", 30001, 30001)
    with pytest.raises(ValueError):
        PortAllocator("127.0.0.1", 80, 90)


async def test_an_exhausted_range_gives_no_free_port_and_recovers(plane: EmbeddedMediaPlane) -> None:
    sessions = []
    with pytest.raises(NoFreePort):
        for n in range(1000):
            sessions.append(plane.allocate(f"c{n}", Events()))
    assert plane.ports.in_use == plane.ports.capacity - plane.ports.capacity % 2
    for session in sessions:
        session.release()
    assert plane.ports.in_use == 0
    await asyncio.sleep(0.05)  # the loop closes the released sockets: their ports are free again
    plane.allocate("again", Events()).release()


@pytest.mark.slow
async def test_tens_of_thousands_of_calls_leak_no_port_and_no_descriptor(plane: EmbeddedMediaPlane) -> None:
    call = bridged_call(plane)  # warm up: the loop's own descriptors exist before counting
    call.close()
    await asyncio.sleep(0.05)  # its sockets closed by their transports
    before = _open_fds()
    for n in range(20_000):
        session = plane.allocate(f"call-{n}", Events())
        if n % 3 == 0:
            session.accept_offer(Leg.AGENT, phone_sdp(4000))
            session.make_offer(Leg.CALLEE)
        if n % 2 == 0:
            await asyncio.sleep(0)  # some sessions get their sockets attached first, some do not
        session.release()
        if n % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert plane.sessions() == 0
    assert plane.ports.in_use == 0
    assert _open_fds() == before
    call = bridged_call(plane)  # and the relay still works
    try:
        call.agent.send_audio(call.to_agent_side, 0, b"\x01" * 160)
        assert (await call.callee.receive()).payload == b"\x01" * 160
    finally:
        call.close()


async def test_a_plane_with_no_address_for_sdp_refuses_to_start(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "localhost"):
        plane = EmbeddedMediaPlane(host, 30000, 30010, media_timeout=60, spool=tmp_path)
        with pytest.raises(MediaError, match="media_address"):
            await plane.start()


async def test_sdp_names_the_advertised_address_while_the_relay_binds_host(tmp_path: Path) -> None:
    first = free_ports(8)
    plane = EmbeddedMediaPlane(
        "127.0.0.1", first, first + 7, media_timeout=60, spool=tmp_path, advertised="127.0.0.42"
    )
    await plane.start()
    try:
        session = plane.allocate("nat", Events())
        answer = session.accept_offer(Leg.AGENT, phone_sdp(4000)).decode()
        assert "c=IN IP4 127.0.0.42" in answer and "o=sipline" in answer
        session.release()
    finally:
        await plane.stop()


async def test_a_call_allocated_as_another_is_released_keeps_its_sockets(plane: EmbeddedMediaPlane) -> None:
    # Linux reuses the lowest free descriptor: the new call's sockets get the old call's numbers,
    # which must not be closed under it when the old call's transports finish closing.
    for _ in range(3):
        old = bridged_call(plane, name="old")
        await asyncio.sleep(0.01)  # its sockets attached to the loop
        old.close()
        new = bridged_call(plane, name="new")  # in the same loop iteration as the release
        try:
            await asyncio.sleep(0.01)
            new.agent.send_audio(new.to_agent_side, 0, b"\x0a" * 160)
            assert (await new.callee.receive()).payload == b"\x0a" * 160
            new.callee.send_audio(new.to_callee_side, 0, b"\x0b" * 160)
            assert (await new.agent.receive()).payload == b"\x0b" * 160
        finally:
            new.close()
