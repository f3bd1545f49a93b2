"""A bridged call through the relay between two plain-socket peers, as the B2BUA would set it up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sipline.media.port import Leg, MediaPlane, MediaSession
from tests.media.peers import Events, Peer, phone_sdp, platform_address


@dataclass
class Call:
    session: MediaSession
    agent: Peer
    callee: Peer
    to_agent_side: tuple[str, int]  # the platform's address the agent sends to
    to_callee_side: tuple[str, int]  # the platform's address the callee sends to
    agent_answer: bytes
    callee_offer: bytes
    events: Events = field(default_factory=Events)

    def close(self) -> None:
        self.session.release()
        self.agent.close()
        self.callee.close()


def bridged_call(
    plane: MediaPlane,
    *,
    agent_formats: str = "0 8 101",
    callee_formats: str = "0 101",
    agent_address: str = "127.0.0.1",
    name: str = "call-1",
) -> Call:
    """The agent's phone offers (its 200), the platform offers to the callee, the callee answers."""
    events = Events()
    session = plane.allocate(name, events)
    agent, callee = Peer(), Peer()
    agent_offer = phone_sdp(agent.port, address=agent_address, formats=agent_formats)
    answer = session.accept_offer(Leg.AGENT, agent_offer)
    offer = session.make_offer(Leg.CALLEE)
    session.accept_answer(Leg.CALLEE, phone_sdp(callee.port, formats=callee_formats))
    sides = platform_address(answer), platform_address(offer)
    return Call(session, agent, callee, *sides, answer, offer, events)


@contextmanager
def two_peers(plane: MediaPlane, name: str = "call") -> Iterator[tuple[MediaSession, Events, Peer, Peer]]:
    """A session and two peers (agent, callee) for a test that runs the offer/answer itself."""
    events = Events()
    session = plane.allocate(name, events)
    agent, callee = Peer(), Peer()
    try:
        yield session, events, agent, callee
    finally:
        session.release()
        agent.close()
        callee.close()
