"""Status report pushes delivered per second, and what pushing costs click-to-call.

1. Delivery: the push worker (this process, pinned to CPU 0, SQLite, uvloop) delivers `--reports`
   signed reports from the outbox to a local receiver (bench/webhooks/receiver.py, a process of its
   own on CPU 1); beside it, the baseline: the same number of bare httpx POSTs of the same body with
   the same concurrency (no outbox, no signing, no SSRF check). Target: at least 1,000 reports/s.
2. Calls: bench/calls' climb on `sipline serve` (its best clean calls/s), once without a push URL and
   once with every call's report pushed to the receiver, in the same run. Target: pushes on at least
   0.9 of pushes off.

Run: python -m bench.webhooks [--reports 5000] [--rates 100,150,200] [--seconds 3] [--only delivery|calls]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from bench.calls.__main__ import sipline_steps
from bench.common import ServedPlatform, free_port, pinned
from sipline.bootstrap import build_platform
from sipline.config import Settings
from sipline.events.delivery import CLIENT_POOL
from sipline.events.outbox import OUTBOX, PENDING, encode
from sipline.runtime import run
from sipline.store.models import App

LOOPBACK = "127.0.0.0/8"
CONCURRENCY = 100
REPORT = {  # the shape and size of a real report (api/record_wire.push_report)
    "voiceId": "2612020530000000001", "type": 3, "callee": "442079469001", "displayNum": "1008122211",
    "code": "United Kingdom(London)", "submitTime": 1764653400000, "callTime": 1764653401000,
    "ringingTime": 1764653401200, "answerTime": 1764653403000, "hangupTime": 1764653433000,
    "callDuration": 30, "chargedDuration": 60, "terminationCode": "200",
    "terminationReason": "the callee hung up", "cost": "0.01", "billPeriod": "60+60", "rate": "0.01",
    "ringDuration": 1, "recordingFileId": "3e2f0781-9642-40ec-8bbe-df35abec72d4", "baseCost": "0.01",
    "settleRate": None, "quoteExchange": None, "currency": None, "settlePay": None, "sipCode": 200,
    "feedbackValue": "-1", "calledInfo": "lead 42", "event": "report",
}  # fmt: skip


@contextlib.contextmanager
def receiving() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        pinned([sys.executable, "-m", "bench.webhooks.receiver", str(port)], "1"),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    try:
        yield f"http://127.0.0.1:{port}/hooks", process
    finally:
        process.terminate()
        process.wait(10)


@dataclass(frozen=True)
class Took:
    wall: float  # seconds
    cpu: float  # CPU seconds of this process (all its threads: the database driver's too)


async def bare_posts(url: str, count: int) -> Took:
    """``count`` plain POSTs of a report body, ``CONCURRENCY`` at a time, on httpx clients of
    ``CLIENT_POOL`` connections each, as the worker has them."""
    body = encode(REPORT).encode()
    limits = httpx.Limits(max_connections=CLIENT_POOL, max_keepalive_connections=CLIENT_POOL)
    clients = [httpx.AsyncClient(limits=limits, trust_env=False) for _ in range(CONCURRENCY // CLIENT_POOL)]
    queue = iter(range(count))

    async def sender(client: httpx.AsyncClient) -> None:
        for _ in queue:
            response = await client.post(url, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 204

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender(clients[n % len(clients)]) for n in range(CONCURRENCY)))
    took = Took(time.perf_counter() - started, time.process_time() - cpu)
    for client in clients:
        await client.aclose()
    return took


async def outbox_delivery(url: str, count: int, workdir: Path) -> Took:
    """The push worker delivering ``count`` reports written to the outbox."""
    settings = Settings(
        data_dir=workdir / "delivery", push_allowed_networks=(LOOPBACK,), push_concurrency=CONCURRENCY
    )
    platform = await build_platform(settings)
    try:
        account = await platform.tenancy.create_account(balance=Decimal(0))
        app = await platform.tenancy.create_app(account.api_key)
        await platform.push_config.set_push(app.app_id, url)
        now = datetime.now(UTC)
        async with platform.sessions() as session:
            app_pk = await session.scalar(select(App.id).where(App.app_id == app.app_id))
            rows = []
            for n in range(count):
                voice_id = f"{n:019d}"
                body = REPORT | {"voiceId": voice_id, "eventId": f"msg_{voice_id}_3", "sequence": 3}
                rows.append(
                    {"event_id": body["eventId"], "app_pk": app_pk, "voice_id": voice_id, "sequence": 3,
                     "event_type": "report", "body": encode(body), "state": PENDING, "attempts": 0,
                     "next_attempt_at": now, "created_at": now, "updated_at": now}
                )  # fmt: skip
            await session.execute(insert(OUTBOX), rows)
            await session.commit()
        worker = platform.push
        started, cpu = time.perf_counter(), time.process_time()
        task = asyncio.create_task(worker.run())
        while worker.outcomes["delivered"] < count:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        took = Took(time.perf_counter() - started, time.process_time() - cpu)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if worker.outcomes["delivered"] != count or len(worker.outcomes) != 1:
            raise SystemExit(f"not every report was delivered once: {dict(worker.outcomes)}")
        return took
    finally:
        await platform.close()


def delivery(count: int, workdir: Path) -> None:
    print(f"\ndelivery: {count} reports to a local receiver (sender on CPU 0, receiver on CPU 1)")
    with receiving() as (url, _receiver):
        results: dict[str, Took] = {}

        async def both() -> None:
            results["bare"] = await bare_posts(url, count)
            results["outbox"] = await outbox_delivery(url, count, workdir)

        run(both())
    for name, label in (("bare", "bare httpx POSTs (baseline)"), ("outbox", "push worker (outbox, signed)")):
        took = results[name]
        print(f"  {label:<30} {count / took.wall:>7,.0f}/s wall, {count / took.cpu:>7,.0f} per CPU second")
    outbox = count / results["outbox"].cpu
    ratio = results["bare"].cpu / results["outbox"].cpu
    met = "met" if outbox >= 1000 else "NOT met"
    print(f"  ratio push / bare (CPU): {ratio:.2f}; >= 1,000 reports/s on one core: {met}")


def calls(rates: list[int], seconds: float, workdir: Path) -> None:
    print("\ncalls: bench/calls' climb, pushes off, then every call's report pushed")
    off = sipline_steps(rates, seconds, workdir / "off")
    with receiving() as (url, receiver):

        def set_push(platform: ServedPlatform) -> None:
            env = os.environ | {
                "SIPLINE_DATA_DIR": str(platform.data_dir),
                "SIPLINE_PUSH_ALLOWED_NETWORKS": LOOPBACK,
            }
            env.pop("SIPLINE_DATABASE_URL", None)
            subprocess.run(
                [sys.executable, "-m", "sipline", "admin", "app", "set-push", platform.app_id, url],
                env=env, check=True, capture_output=True,
            )  # fmt: skip

        on = sipline_steps(
            rates, seconds, workdir / "on", {"SIPLINE_PUSH_ALLOWED_NETWORKS": LOOPBACK}, prepare=set_push
        )
        time.sleep(2)  # the last reports
        receiver.terminate()
        pushed = receiver.communicate(timeout=10)[0].strip()
    ratio = on / off if off else 0.0
    print(f"\nbest clean calls/s: pushes off {off:,.0f}, pushes on {on:,.0f} ({pushed} reports received)")
    print(f"ratio on / off: {ratio:.2f} (>= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--rates", default="100,150,200,250,300")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--only", choices=["delivery", "calls"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for side in ("off", "on"):
            (workdir / side).mkdir()
        if args.only != "calls":
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {0})
            delivery(args.reports, workdir)
        if args.only != "delivery":
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {1})  # the API client beside SIPp, away from the server
            calls([int(rate) for rate in args.rates.split(",")], args.seconds, workdir)


if __name__ == "__main__":
    main()
