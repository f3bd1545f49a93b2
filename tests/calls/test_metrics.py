"""GET /metrics as Prometheus scrapes it, after a registration and calls over real SIP (virtual phone,
sandbox carrier). Its guard is tested in tests/api/test_metrics_guard.py."""

from __future__ import annotations

import asyncio
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sipline.bootstrap import Platform
from sipline.sip.message import SipRequest
from tests.calls.conftest import PhoneFactory, finished
from tests.calls.test_send_sip import UK, send
from tests.conftest import Api

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> Samples:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return parse(answer.text)


async def test_metrics_after_registration_and_calls(
    live: Platform, api: Api, phone_of: PhoneFactory, http: httpx.AsyncClient
) -> None:
    before = await scrape(http)
    assert value(before, "sipline_registered_phones") == 0
    assert value(before, "sipline_active_calls") == 0
    assert value(before, "sipline_media_sessions") == 0

    _phone, record = await phone_of()  # registers: challenged (401), then 200
    registered = await scrape(http)
    assert value(registered, "sipline_registered_phones") == 1
    assert value(registered, "sipline_sip_bindings") == 1
    assert value(registered, "sipline_sip_requests_total", direction="in", method="REGISTER") == 2
    assert value(registered, "sipline_sip_responses_total", direction="out", **{"class": "4xx"}) == 1
    assert value(registered, "sipline_sip_responses_total", direction="out", **{"class": "2xx"}) == 1

    answered = await send(api, record, UK + "9001")  # the sandbox answers and talks 1 s
    assert answered["status"] == "0"
    during = await scrape(http)
    assert value(during, "sipline_active_calls") == 1
    assert value(during, "sipline_call_attempts_total") == 1
    assert (await finished(api, str(answered["data"])))["terminationCode"] == "200"
    busy = await send(api, record, UK + "0486")  # rings, then 486 Busy Here
    assert (await finished(api, str(busy["data"])))["terminationCode"] == "486"
    await _until_no_call(live)

    after = await scrape(http)
    assert value(after, "sipline_active_calls") == 0
    assert value(after, "sipline_media_sessions") == 0  # released at every end
    # the sandbox carrier and the virtual phone each send a packet a second while the call is up
    assert value(after, "sipline_rtp_packets_total", outcome="relayed") >= 1
    assert value(after, "sipline_rtp_packets_total", outcome="dropped") == 0
    assert value(after, "sipline_call_attempts_total") == 2
    assert value(after, "sipline_call_outcomes_total", code="200") == 1
    assert value(after, "sipline_call_outcomes_total", code="486") == 1
    # Both legs' INVITEs went out (phone and carrier, twice), each answered and ACKed; BYEs ended them.
    assert value(after, "sipline_sip_requests_total", direction="out", method="INVITE") == 4
    assert value(after, "sipline_sip_requests_total", direction="out", method="ACK") >= 4
    assert value(after, "sipline_sip_responses_total", direction="in", **{"class": "6xx"}) == 0
    assert value(after, "sipline_sip_responses_total", direction="in", **{"class": "4xx"}) == 1  # the 486
    assert value(after, "sipline_banned_sources") == 0

    # sendSip's latency, by route template; the record reads by theirs, not by their raw path.
    sends = value(after, "sipline_api_request_duration_seconds_count", route="/voice/sendSip", method="POST")
    assert sends == 2
    routes = {dict(labels).get("route") for name, labels in after if name.startswith("sipline_api_request")}
    assert "/voice/recordSip/{voice_id}" in routes
    assert not any(route and route.startswith("/voice/recordSip/1") for route in routes)
    assert value(after, "sipline_call_writer_batch_duration_seconds_count") >= 2


async def _until_no_call(platform: Platform) -> None:
    for _ in range(100):
        if not platform.calls.active:
            return
        await asyncio.sleep(0.05)


def options(call_id: str, port: int) -> SipRequest:
    return SipRequest(
        "OPTIONS",
        f"sip:probe@127.0.0.1:{port}",
        [
            ("From", "<sip:probe@sipline.local>;tag=probe"),
            ("To", f"<sip:probe@127.0.0.1:{port}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 OPTIONS"),
            ("Max-Forwards", "70"),
        ],
    )


async def test_retransmissions_both_ways(live: Platform, http: httpx.AsyncClient) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        port = peer.getsockname()[1]
        # in: a peer sends its OPTIONS twice (same branch); the second gets the first's 200 again
        request = options("retransmitted-in", port)
        request.add_header("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-metrics-in", first=True)
        for _ in range(2):
            peer.sendto(request.to_bytes(), ("127.0.0.1", live.sip.port))
            answer = await asyncio.wait_for(loop.sock_recv(peer, 65536), 5)
            assert answer.startswith(b"SIP/2.0 200 ")
        # out: our OPTIONS to a peer that never answers is re-sent by timer E (after T1, 0.5 s)
        flow = await live.sip.transport.flow_to("udp", ("127.0.0.1", port))
        live.sip.send_request(options("retransmitted-out", port), flow)
        first = await asyncio.wait_for(loop.sock_recv(peer, 65536), 5)
        again = await asyncio.wait_for(loop.sock_recv(peer, 65536), 5)
        assert first == again and first.startswith(b"OPTIONS ")
    samples = await scrape(http)
    assert value(samples, "sipline_sip_retransmissions_total", direction="in") == 1
    assert value(samples, "sipline_sip_retransmissions_total", direction="out") >= 1
    assert value(samples, "sipline_sip_requests_total", direction="in", method="OPTIONS") == 2
    assert value(samples, "sipline_sip_requests_total", direction="out", method="OPTIONS") >= 2
    assert value(samples, "sipline_sip_responses_total", direction="out", **{"class": "2xx"}) == 2
