"""Memory over a long run of click-to-calls: the resident memory of `sipline serve` per 1,000 calls.

`sipline serve` (pinned to CPU 0; SQLite in a temporary directory, or `--database-url`) with `--phones`
phones made through the API and registered by SIPp. sendSip goes at `--rate` per second (an asyncio
client on CPU 1) to a callee the in-process sandbox carrier answers (it rings 1 s, then talks until the
caller hangs up); the SIPp phones answer, talk 1 s and hang up. After every 1,000 sendSip it prints the
server's VmRSS (from /proc/PID/status); once every record is closed, the growth after the warm-up and
the verdict against the target: flat within `--tolerance-mb` after `--warmup` calls.

The run is bounded: `--calls` calls at `--rate`, and it stops early once `--max-seconds` have passed.
A PostgreSQL database must be empty (or hold only data written with the same SIPLINE_SECRET_KEY):
each run starts with a fresh data directory, so a fresh secret key.

Run: python -m bench.soak [--calls 20000] [--rate 50] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.common import (
    ServedPlatform,
    SippPeer,
    drive,
    free_port,
    register_phones,
    served_platform,
    sipp_counter,
)
from sipline.store.database import create_engine

PHONE_SCENARIO = Path(__file__).resolve().parent.parent / "calls" / "phone_uas.xml"
SANDBOX_UNTIL_HANGUP = "442079469000"  # the sandbox carrier's 9000: talks until the caller hangs up
EVERY = 1000  # calls between two samples


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


@dataclass
class Sample:
    calls: int  # sendSip sent so far
    rss: int  # KiB


async def record_counts(database_url: str) -> tuple[int, int, int]:
    """(records, still open, closed with a terminationCode other than 200) in the server's database."""
    from sipline.store.models import CallRecord

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            total = await connection.scalar(select(func.count()).select_from(CallRecord))
            still_open = await connection.scalar(
                select(func.count()).select_from(CallRecord).where(CallRecord.hangup_time.is_(None))
            )
            bad = await connection.scalar(
                select(func.count())
                .select_from(CallRecord)
                .where(CallRecord.hangup_time.is_not(None), CallRecord.termination_code != "200")
            )
    finally:
        await engine.dispose()
    return int(total or 0), int(still_open or 0), int(bad or 0)


def settle(database_url: str, expected: int, deadline: float) -> tuple[int, int, int]:
    """Wait until the run's records are all closed (or time is up); their counts."""
    while True:
        counts = asyncio.run(record_counts(database_url))
        if (counts[0] >= expected and counts[1] == 0) or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def soak(
    platform: ServedPlatform, args: argparse.Namespace, workdir: Path, database_url: str
) -> list[Sample]:
    phones_port = free_port(socket.SOCK_DGRAM)
    register_phones(platform, phones_port, workdir)
    before = asyncio.run(record_counts(database_url))[0]  # PostgreSQL may hold earlier runs' records
    run_seconds = args.calls / args.rate
    phones = SippPeer(
        ["-sf", str(PHONE_SCENARIO), "-i", "127.0.0.1", "-p", str(phones_port), "-m", str(args.calls),
         "-mp", str(free_port(socket.SOCK_DGRAM))],
        workdir, run_seconds + 120,
    )  # fmt: skip
    time.sleep(0.5)
    deadline = time.monotonic() + args.max_seconds
    rotation = itertools.cycle(platform.users)
    samples = [Sample(0, rss_kib(platform.pid))]
    print(f"{'calls':>7} {'VmRSS MB':>9} {'change MB':>9} {'accepted':>8} {'calls/s':>8}")
    print(f"{0:>7} {samples[0].rss / 1024:>9.1f}")
    sent = 0
    while sent < args.calls:
        if time.monotonic() > deadline:
            print(f"stopped after {sent} calls: --max-seconds {args.max_seconds} reached", file=sys.stderr)
            break
        chunk = min(EVERY, args.calls - sent)
        started = time.monotonic()
        attempted, accepted, _elapsed, _latencies = asyncio.run(
            asyncio.wait_for(
                drive(platform, rotation, args.rate, chunk / args.rate, SANDBOX_UNTIL_HANGUP),
                chunk / args.rate + 60,
            )
        )
        sent += attempted
        samples.append(Sample(sent, rss_kib(platform.pid)))
        change = (samples[-1].rss - samples[-2].rss) / 1024
        rate = attempted / (time.monotonic() - started)
        print(
            f"{sent:>7} {samples[-1].rss / 1024:>9.1f} {change:>+9.1f} {accepted:>8} {rate:>8.0f}", flush=True
        )
    screen = phones.finish(timeout=60)
    total, still_open, bad = settle(database_url, before + sent, time.monotonic() + 60)
    samples.append(Sample(sent, rss_kib(platform.pid)))
    print(
        f"settled: {samples[-1].rss / 1024:.1f} MB; {total - before} records, {still_open} open, "
        f"{bad} not ended with 200; SIPp phones: {sipp_counter(screen, 'Successful call')} calls completed, "
        f"{sipp_counter(screen, 'Failed call')} failed"
    )
    return samples


def verdict(samples: list[Sample], warmup: int, tolerance_mb: float) -> bool:
    after = [sample for sample in samples if sample.calls >= warmup]
    if len(after) < 2:
        print(f"too few calls after the {warmup:,}-call warm-up for a verdict")
        return False
    base, last = after[0], after[-1]
    growth = (last.rss - base.rss) / 1024
    peak = (max(sample.rss for sample in after) - base.rss) / 1024
    calls = samples[-1].calls - base.calls
    per_call = (last.rss - base.rss) * 1024 / calls if calls else 0.0
    flat = growth <= tolerance_mb and peak <= tolerance_mb
    print(
        f"\nRSS after the {base.calls:,}-call warm-up: {base.rss / 1024:.1f} MB; after {samples[-1].calls:,} "
        f"calls and settling: {last.rss / 1024:.1f} MB\ngrowth after warm-up: {growth:+.1f} MB "
        f"(peak {peak:+.1f} MB; {per_call:+.0f} bytes per call over {calls:,} calls)\n"
        f"target: flat within {tolerance_mb:g} MB after warm-up: {'met' if flat else 'NOT met'}"
    )
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=20_000, help="sendSip to send (default 20,000)")
    parser.add_argument("--rate", type=int, default=50, help="sendSip per second (default 50)")
    parser.add_argument("--phones", type=int, default=400, help="phones, a multiple of 100 (default 400)")
    parser.add_argument("--warmup", type=int, default=5_000, help="calls before RSS should be flat")
    parser.add_argument("--tolerance-mb", type=float, default=5.0, help="allowed growth after warm-up")
    parser.add_argument(
        "--max-seconds", type=float, help="stop sending after this (default: 2x the run + 60)"
    )
    parser.add_argument("--database-url", help="postgresql://... (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    if not (1 <= args.rate <= 1000 and 1 <= args.calls <= 10_000_000 and 100 <= args.phones <= 10_000):
        parser.error("--rate 1-1000, --calls 1-10,000,000, --phones 100-10,000")
    if args.phones % 100:
        parser.error("--phones must be a multiple of 100")
    args.max_seconds = args.max_seconds or 2 * args.calls / args.rate + 60
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})  # the API client shares CPU 1 with SIPp, away from the server
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'sipline' / 'sipline.db'}"
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"sipline serve ({backend}, 1 core): {args.calls:,} click-to-calls at {args.rate}/s, "
            f"{args.phones} phones"
        )
        with served_platform(
            workdir, args.phones, balance="1000000", database_url=args.database_url
        ) as platform:
            samples = soak(platform, args, workdir, database_url)
    sys.exit(0 if verdict(samples, args.warmup, args.tolerance_mb) else 1)


if __name__ == "__main__":
    main()
