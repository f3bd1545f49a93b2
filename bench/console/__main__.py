"""bench/console: p50/p95/p99 of the console's records page and of the voice API's recordGroupQuery
with 1,000,000 call records, on SQLite or PostgreSQL.

    python -m bench.console [--records 1000000] [--requests 100] [--database-url URL] [--reseed]

The records (bench/console/seed.py) are a month of office traffic of one account, 12 groups of 20
phones over 3 apps, ~60 % answered, costs per started minute; a second account holds 1/100 of them
(10,000 beside 1,000,000) spread over the same month in the same database. Both are seeded once and
reused by later runs against the same database (`--reseed` makes them again); without
`--database-url` the database is a SQLite file in the system's temporary directory.

Requests go through the real application (build_app, the console mounted as served) over httpx's
ASGI transport, so each figure is a request's whole handling (routing, session or signature check,
the queries, rendering) and no socket time. The console is signed in as the account's user (its
session cookie), recordGroupQuery is sent by the Python SDK (`AsyncClient`, signed as it always
does). Each case runs `--requests` times for each account, in turns, after up to 5 unmeasured ones; the
windows end at the newest seeded record, so a cached seed is measured on the same day of traffic.

Baseline: the very same request for the small account. It runs the same code, the same templates and
the same plan in the same database, on a day of ~330 records instead of ~33,000; what differs is how
much history the query has to walk. The ratio (big / small p95) is therefore what the size of the
history costs, measured in the same run on the same (shared, noisy) machine: about 1 means the
indexes keep the page independent of the history, 100 would mean a scan growing with it. A bare
indexed SELECT of one page would only show the framework's overhead, not whether the page scales.
Deep pages are taken at the same depth for both accounts (the middle of the day's console pages,
90 % through the day's recordGroupQuery pages), so they walk the same share of their day.

Target (issue 14): p95 under 200 ms at 1,000,000 records, on both databases.
"""

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.console.seed import PASSWORD, BenchAccount, prepare
from sipline.bootstrap import Platform, build_app, build_platform
from sipline.client import AsyncClient
from sipline.config import Settings
from sipline.console.routes.records import PAGE_SIZE
from sipline.store.models import Account, CallRecord

WARMUP = 5
API_PAGE_SIZE = 100
SECRET_KEY = "YmVuY2gtY29uc29sZS1zZWNyZXQta2V5LTMyYnl0ZXM="  # fixed: a cached seed's secrets still decrypt
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
Request = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Figures:
    p50: float
    p95: float
    p99: float


def percentiles(latencies_ms: list[float]) -> Figures:
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return Figures(cuts[49], cuts[94], cuts[98])


async def measure(measured: Request, baseline: Request, times: int) -> tuple[Figures, Figures]:
    """Both requests `times` times, in turns (after a few unmeasured ones), so that whatever else the
    machine is doing weighs on both alike: the ratio holds on a shared machine better than the figures."""
    for _ in range(min(WARMUP, times)):
        await measured()
        await baseline()
    latencies: tuple[list[float], list[float]] = ([], [])
    for _ in range(times):
        for request, into in ((measured, latencies[0]), (baseline, latencies[1])):
            started = time.perf_counter()
            await request()
            into.append((time.perf_counter() - started) * 1000)
    return percentiles(latencies[0]), percentiles(latencies[1])


class Session:
    """One account's two clients: a signed-in console browser and the SDK, both in process."""

    def __init__(self, platform: Platform, account: BenchAccount) -> None:
        self.account = account
        transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
        self.browser = httpx.AsyncClient(transport=transport, base_url="http://console.bench")
        self.sdk = AsyncClient(
            "http://console.bench", account.api_key, account.api_secret, transport=transport
        )
        self.end = account.newest + timedelta(seconds=1)
        self.start = self.end - timedelta(days=1)
        self.day_records = 0

    async def open(self, platform: Platform) -> None:
        login = await self.browser.get("/console/login")
        token = CSRF.search(login.text)
        assert token, login.text[:300]
        signed = await self.browser.post(
            "/console/login",
            data={"csrf": token.group(1), "email": self.account.email, "password": PASSWORD},
        )
        if signed.status_code != 303:
            raise SystemExit(f"console sign-in failed: {signed.status_code} {signed.text[:300]}")
        async with platform.engine.connect() as conn:
            self.day_records = int(
                await conn.scalar(
                    select(func.count())
                    .select_from(CallRecord)
                    .join(Account, Account.id == CallRecord.account_id)
                    .where(
                        Account.api_key == self.account.api_key,
                        CallRecord.submit_time >= self.start,
                        CallRecord.submit_time <= self.end,
                    )
                )
                or 0
            )

    async def close(self) -> None:
        await self.browser.aclose()
        await self.sdk.aclose()

    def page(self, **filters: str) -> Request:
        params = {"start": self.start.isoformat(), "end": self.end.isoformat(), **filters}

        async def get() -> httpx.Response:
            response = await self.browser.get("/console/records", params=params)
            if response.status_code != 200 or "Filters not applied" in response.text:
                raise SystemExit(f"records page {params}: {response.status_code} {response.text[:300]}")
            return response

        return get

    def group_query(self, current: int) -> Request:
        start, end = _wire_time(self.start), _wire_time(self.end)
        return lambda: self.sdk.record_group_query(start, end, current, API_PAGE_SIZE)

    def cases(self) -> dict[str, Request]:
        console_pages = max(1, -(-self.day_records // PAGE_SIZE))
        api_pages = max(1, -(-self.day_records // API_PAGE_SIZE))
        return {
            "records page: last 24 h": self.page(),
            "records page: 24 h, one group": self.page(group=self.account.groups[3]),
            "records page: 24 h, answered, >= 60 s": self.page(answered="1", min_duration="60"),
            "records page: 24 h, failed 486": self.page(code="486"),
            "records page: 24 h, middle page": self.page(page=str(max(1, console_pages // 2))),
            "recordGroupQuery: 24 h, page 1": self.group_query(1),
            "recordGroupQuery: 24 h, 90 % deep": self.group_query(max(1, api_pages * 9 // 10)),
        }


def _wire_time(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds")


async def run(records: int, requests: int, database_url: str | None, data_dir: Path, reseed: bool) -> None:
    baseline = max(1, min(10_000, records // 100))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'bench-console.db'}",
        secret_key=SECRET_KEY,
        admin_token="bench-console-admin",
    )
    platform = await build_platform(settings)
    try:
        big, small = await prepare(platform, records, baseline, reseed)
        sessions = [Session(platform, big), Session(platform, small)]
        for session in sessions:
            await session.open(platform)
        results = []
        baselines = sessions[1].cases()
        for name, request in sessions[0].cases().items():
            figures, base = await measure(request, baselines[name], requests)
            results.append((name, figures, base))
        report(platform.engine.dialect.name, big, small, sessions[0].day_records, requests, results)
        for session in sessions:
            await session.close()
    finally:
        await platform.close()


def report(
    database: str,
    big: BenchAccount,
    small: BenchAccount,
    day_records: int,
    requests: int,
    results: list[tuple[str, Figures, Figures]],
) -> None:
    print(
        f"{database}: {big.records:,} records (baseline account: {small.records:,}), "
        f"{day_records:,} in the measured 24 h, {requests} requests per case, in process (ASGI)"
    )
    print(f"{'case':40} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'base p95':>9} {'ratio':>6}")
    for name, figures, base in results:
        ratio = figures.p95 / base.p95 if base.p95 else float("inf")
        print(
            f"{name:40} {figures.p50:8.1f} {figures.p95:8.1f} {figures.p99:8.1f} {base.p95:9.1f} {ratio:6.2f}"
        )
    worst = max(figures.p95 for _name, figures, _base in results)
    print(f"worst p95: {worst:.1f} ms (target: under 200 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.console",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="records of the measured account")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per case")
    parser.add_argument("--database-url", help="e.g. postgresql://postgres@127.0.0.1:5432/sipline_bench")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "sipline-bench-console",
        help="the platform's data directory, and the SQLite database when no URL is given",
    )
    parser.add_argument("--reseed", action="store_true", help="make the records again even if cached")
    arguments = parser.parse_args()
    if not 100 <= arguments.records <= 10_000_000:
        parser.error("--records must be 100-10,000,000")
    if not 2 <= arguments.requests <= 100_000:
        parser.error("--requests must be 2-100,000")
    url: str | None = arguments.database_url
    asyncio.run(run(arguments.records, arguments.requests, url, arguments.data_dir, arguments.reseed))


if __name__ == "__main__":
    main()
