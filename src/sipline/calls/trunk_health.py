"""The trunks' reachability: an OPTIONS to every trunk every ``trunk_ping_interval`` seconds, through
the platform's SIP stack (a client transaction on the trunk's transport), and what came back.

The rule that turns answers and failures into up, down or unknown is domain/trunk_health.py's. The
state is this node's view (it is in memory, as the pings are sent from here); it is shown on the
console's trunks and health pages and exported as metrics, and it does not make /readyz fail: a
node whose carrier is down is still ready (calls to phones and the API keep working).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sipline.calls.invites import trunk_options
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.domain.trunk_health import Ping, PingFailure, TrunkHealth, TrunkState, TrunkStatus
from sipline.domain.trunks import Trunk
from sipline.sip.message import SipResponse
from sipline.sip.random_ids import random_hex
from sipline.sip.server import SipServer
from sipline.sip.transaction import ClientTransaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PingPolicy:
    interval: float = 30.0  # seconds between pings of a trunk
    timeout: float = 5.0  # seconds an OPTIONS may take before the ping failed
    down_after: int = 3  # failed pings in a row that make a trunk down


class TrunkMonitor:
    """One per node, built by the composition root; ``run()`` is one of the platform's background tasks."""

    def __init__(
        self,
        sip: SipServer,
        resolver: TrunkResolver,
        trunks: Mapping[str, Trunk],
        policy: PingPolicy | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sip = sip
        self._resolver = resolver
        self._trunks = trunks  # live: the sandbox trunk joins it once its carrier has started
        self.policy = policy or PingPolicy()
        self._clock = clock
        self._health: dict[str, TrunkHealth] = {}

    def statuses(self) -> list[TrunkStatus]:
        """Every configured trunk, by name, with what its pings found (unknown before the first)."""
        return [
            TrunkStatus(
                trunk.name, trunk.host, trunk.port, trunk.transport, self._health.get(name, TrunkHealth())
            )
            for name, trunk in sorted(self._trunks.items())
        ]

    def health(self, name: str) -> TrunkHealth:
        return self._health.get(name, TrunkHealth())

    async def run(self) -> None:
        """Ping every trunk now, then every interval (from round start to round start), until cancelled;
        an interval of 0 sends none (every trunk stays unknown)."""
        if self.policy.interval <= 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.ping_all()
            await asyncio.sleep(max(0.0, self.policy.interval - (loop.time() - started)))

    async def ping_all(self) -> None:
        """One OPTIONS to each trunk at once; returns when each has its answer or has failed."""
        trunks = list(self._trunks.values())
        await asyncio.gather(*(self._ping_and_record(trunk) for trunk in trunks))
        for name in set(self._health) - set(self._trunks):
            del self._health[name]  # a trunk no longer configured

    async def _ping_and_record(self, trunk: Trunk) -> None:
        try:
            ping = await self.ping(trunk)
        except Exception:  # a bug must not stop the other trunks' pings, nor the next round
            log.exception("trunk %s: the OPTIONS ping failed", trunk.name)
            return
        before = self.health(trunk.name)
        after = before.after(ping, self.policy.down_after)
        self._health[trunk.name] = after
        if after.state is not before.state and after.state is not TrunkState.UNKNOWN:
            _log_change(trunk, after)

    async def ping(self, trunk: Trunk) -> Ping:
        """Send one OPTIONS to the trunk and wait for its final response (``policy.timeout`` at most)."""
        sent_at = self._clock()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self.policy.timeout):
                address = await self._resolver.resolve(trunk.host, trunk.port)
        except (OSError, TimeoutError):
            return Ping.failed(sent_at, PingFailure.UNRESOLVED)
        try:
            async with asyncio.timeout(max(0.0, self.policy.timeout - (loop.time() - started))):
                flow = await self._sip.flow_to(trunk.transport, address)
        except (OSError, TimeoutError):  # a TCP trunk refusing the connection, or not taking it in time
            return Ping.failed(sent_at, PingFailure.UNREACHABLE)
        request = trunk_options(self._sip, trunk, flow, f"{random_hex(12)}-ping")
        sent = loop.time()
        tx = self._sip.send_request(request, flow)
        response = await _final_within(tx, self.policy.timeout - (sent - started))
        if response is None or not tx.answered:
            unsent = response is not None and response.status == 503  # the stack's: it could not send
            return Ping.failed(sent_at, PingFailure.UNREACHABLE if unsent else PingFailure.TIMEOUT)
        return Ping.answered(sent_at, response.status, loop.time() - sent)


async def _final_within(tx: ClientTransaction, seconds: float) -> SipResponse | None:
    """The transaction's final response, or None after ``seconds``; a ping given up on (or cancelled,
    as the platform stops) ends its transaction: no more retransmissions."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            return await tx.final_response()
    except TimeoutError:
        return None
    finally:
        if not tx.answered:
            tx.terminate()


def _log_change(trunk: Trunk, health: TrunkHealth) -> None:
    if health.state is TrunkState.UP:
        log.info(
            "trunk %s is up (%s answered OPTIONS in %s ms)", trunk.name, health.last_status, health.rtt_ms
        )
    else:
        log.warning(
            "trunk %s is down: %d OPTIONS pings in a row failed (%s)",
            trunk.name,
            health.failures,
            health.last_failure,
        )
