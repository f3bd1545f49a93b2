"""The platform's Prometheus metrics, in a registry of its own (several platforms can share a process).

Hot paths keep plain counters (the SIP stack's `SipCounters`, the call service's counts) and this
module reads them at scrape time, so a SIP message costs a dict update, not a metric's lock.
Only what is observed a few hundred times a second at most (API requests, call-writer batches)
goes through prometheus-client's histograms directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sipline.calls.send_sip import CallService
from sipline.calls.trunk_health import TrunkMonitor
from sipline.domain.trunk_health import TrunkState
from sipline.events.delivery import PushWorker
from sipline.media.port import MediaPlane
from sipline.sip.server import SipServer

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StoredBindings(Protocol):
    def counts(self) -> tuple[int, int]: ...


class PlatformMetrics:
    """What the platform exports; ``expose()`` renders it in the Prometheus text format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_latency = Histogram(
            "sipline_api_request_duration_seconds",
            "HTTP API requests by route template and method, seconds from request to response end.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.call_writer_batch = Histogram(
            "sipline_call_writer_batch_duration_seconds",
            "Seconds to write and commit one group of call writes (new calls, updates, settlements).",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch(
        self,
        bindings: StoredBindings,
        sip: SipServer,
        calls: CallService,
        media: MediaPlane,
        push: PushWorker | None = None,
        trunks: TrunkMonitor | None = None,
    ) -> None:
        """Export what these keep in memory, read at each scrape."""
        self.registry.register(_LiveCollector(bindings, sip, calls, media))
        if push is not None:
            self.registry.register(_PushCollector(push))
        if trunks is not None:
            self.registry.register(_TrunkCollector(trunks))
        calls.writer.batch_timer = self.call_writer_batch.observe

    def expose(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    def __init__(
        self, bindings: StoredBindings, sip: SipServer, calls: CallService, media: MediaPlane
    ) -> None:
        self._bindings = bindings
        self._sip = sip
        self._calls = calls
        self._media = media

    def collect(self) -> Iterator[Metric]:
        phones, bindings = self._bindings.counts()
        yield GaugeMetricFamily(
            "sipline_registered_phones", "Phones with at least one registration.", value=phones
        )
        yield GaugeMetricFamily("sipline_sip_bindings", "Registered contacts (bindings).", value=bindings)
        yield GaugeMetricFamily(
            "sipline_active_calls", "Click-to-calls in progress on this node.", value=len(self._calls.active)
        )
        yield GaugeMetricFamily(
            "sipline_media_sessions",
            "Media sessions (a call's two relayed legs) allocated and not yet released.",
            value=self._media.sessions(),
        )
        relayed, dropped = self._media.packet_counts()
        yield _counter(
            "sipline_rtp_packets",
            "RTP packets through the media plane: relayed to the other leg, or dropped (invalid, "
            "from a stranger, of a payload type not negotiated).",
            ["outcome"],
            [(("dropped",), dropped), (("relayed",), relayed)],
        )
        yield GaugeMetricFamily(
            "sipline_banned_sources",
            "Source addresses banned for repeated authentication failures.",
            value=len(self._sip.failures.banned_sources()),
        )
        yield CounterMetricFamily(
            "sipline_call_attempts", "Click-to-calls accepted and placed.", value=self._calls.attempts
        )
        yield _counter(
            "sipline_call_outcomes",
            "Click-to-calls ended, by termination code (SIP).",
            ["code"],
            [((code,), count) for code, count in _by_sip_code(self._calls.outcomes).items()],
        )
        admission = self._calls.admission
        if admission is not None:
            yield _counter(
                "sipline_call_admission_refusals",
                "New calls refused by their account's fraud limits, by status (-80 ... -83).",
                ["status"],
                [((status,), count) for status, count in admission.refusals.items()],
            )
        yield _counter(
            "sipline_reservation_extensions",
            "Reservations of calls in progress extended: taken from the balance, or refused (it ran out).",
            ["outcome"],
            [((outcome,), count) for outcome, count in self._calls.writer.extensions.items()],
        )
        counters = self._sip.transport.counters
        yield _counter(
            "sipline_sip_requests",
            "SIP requests received and sent, by method.",
            ["direction", "method"],
            counters.requests().items(),
        )
        yield _counter(
            "sipline_sip_responses",
            "SIP responses received and sent, by class.",
            ["direction", "class"],
            counters.responses().items(),
        )
        yield _counter(
            "sipline_sip_retransmissions",
            "SIP retransmissions: out, re-sent by our timers; in, requests matching a transaction under way.",
            ["direction"],
            [(("in",), counters.retransmissions_in), (("out",), counters.retransmissions_out)],
        )


class _PushCollector(Collector):
    """The status report push: the worker's outcome counts and its last look at the outbox."""

    def __init__(self, push: PushWorker) -> None:
        self._push = push

    def collect(self) -> Iterator[Metric]:
        yield _counter(
            "sipline_push_deliveries",
            "Push tries finished by this node, by outcome: delivered, pending (to be tried again), "
            "failed (no tries left), disabled (410).",
            ["outcome"],
            [((outcome,), count) for outcome, count in self._push.outcomes.items()],
        )
        depth, oldest = self._push.backlog
        yield GaugeMetricFamily(
            "sipline_push_queue_depth", "Push events waiting or being sent (all nodes).", value=depth
        )
        yield GaugeMetricFamily(
            "sipline_push_oldest_pending_seconds",
            "Age of the oldest push event waiting or being sent (0 when none).",
            value=oldest,
        )


class _TrunkCollector(Collector):
    """The trunks' reachability from this node's OPTIONS pings (calls/trunk_health.py)."""

    def __init__(self, trunks: TrunkMonitor) -> None:
        self._trunks = trunks

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "sipline_trunk_up",
            "1 when the trunk answered its last OPTIONS pings, 0 when it is down or not yet known.",
            labels=["trunk"],
        )
        rtt = GaugeMetricFamily(
            "sipline_trunk_ping_seconds",
            "Round trip of the trunk's last answered OPTIONS ping, seconds.",
            labels=["trunk"],
        )
        for status in self._trunks.statuses():
            up.add_metric([status.name], 1 if status.health.state is TrunkState.UP else 0)
            if status.health.rtt is not None:
                rtt.add_metric([status.name], status.health.rtt)
        yield up
        yield rtt


def _counter(
    name: str, documentation: str, labels: list[str], counts: Iterable[tuple[tuple[str, ...], int]]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, count in sorted(counts):
        family.add_metric(list(values), count)
    return family


def _by_sip_code(outcomes: dict[str, int]) -> dict[str, int]:
    """Counts keyed by SIP code; anything else (never expected) folded into "other"."""
    folded: dict[str, int] = {}
    for code, count in outcomes.items():
        key = code if len(code) == 3 and code.isdigit() and "100" <= code <= "699" else "other"
        folded[key] = folded.get(key, 0) + count
    return folded
