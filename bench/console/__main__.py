"""bench/console: p95 latency of the console's records page and of recordGroupQuery (a page of 100)
with many call records in the database, beside the same requests with few records, in the same run.

    python -m bench.console [--records 1000000] [--requests 100] [--database-url URL]

In process: the real FastAPI app over httpx's ASGI transport (no sockets), so the figures are the
request's handling and its queries. The records are spread evenly over the last 30 days, all of one
account; the pages ask for the last 24 hours (about 1/30 of them). Target: p95 under 200 ms at
1,000,000 records. SQLite by default (a temporary file); --database-url for PostgreSQL (emptied first!).
"""

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text

from sipline.bootstrap import Platform, build_app, build_platform
from sipline.config import Settings
from sipline.domain.signing import compute_sign
from sipline.store.models import App, CallRecord

BATCH = 20_000
WARM_UP = 5
PASSWORD = "bench password 123"


async def fill(platform: Platform, account_id: int, app_pk: int, first: int, count: int) -> None:
    """`count` records numbered from `first`, spread evenly over the last 30 days."""
    now = datetime.now(UTC)
    step = timedelta(days=30) / max(count, 1)
    for start in range(first, first + count, BATCH):
        rows = [
            {
                "voice_id": f"{n:019d}",
                "account_id": account_id,
                "app_pk": app_pk,
                "group_name": "group1",
                "phone_name": f"desk-{n % 50}",
                "phone_account": f"{n % 50:010d}",
                "callee": "442079469001",
                "display_num": "8610000000",
                "called_info": "",
                "code": "",
                "submit_time": now - step * n,
                "answer_time": None if n % 3 else now - step * n,
                "hangup_time": now - step * n,
                "call_duration": n % 120,
                "termination_code": "200",
            }
            for n in range(start, min(start + BATCH, first + count))
        ]
        async with platform.engine.begin() as conn:
            await conn.execute(insert(CallRecord), rows)


def dialect_of(platform: Platform) -> str:
    return platform.engine.dialect.name


async def p95(request: Callable[[], Awaitable[httpx.Response]], times: int) -> float:
    for _ in range(WARM_UP):  # templates compiled, statements cached, pages read in
        await request()
    latencies = []
    for _ in range(times):
        started = time.perf_counter()
        response = await request()
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    return statistics.quantiles(latencies, n=20)[18]


async def main(records: int, requests: int, database_url: str | None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = database_url or f"sqlite:///{scratch / 'sipline.db'}"
    platform = await build_platform(
        Settings(data_dir=scratch / "data", database_url=url, admin_token="bench")
    )  # type: ignore[call-arg]
    if platform.engine.dialect.name == "postgresql":
        async with platform.engine.begin() as conn:
            await conn.execute(
                text("TRUNCATE call_records, console_sessions, console_users, apps, accounts CASCADE")
            )
    created = await platform.tenancy.create_account()
    app = await platform.tenancy.create_app(created.api_key)
    await platform.console_users.create("bench@example.com", PASSWORD, api_key=created.api_key)
    async with platform.sessions() as session:
        app_pk, account_id = (
            await session.execute(select(App.id, App.account_id).where(App.app_id == app.app_id))
        ).one()
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        login = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        await http.post(
            "/console/login", data={"csrf": token, "email": "bench@example.com", "password": PASSWORD}
        )
        now = datetime.now(UTC)
        window = {"strTime": (now - timedelta(days=1)).isoformat(), "endTime": now.isoformat()}

        def group_query() -> Awaitable[httpx.Response]:
            ts = str(int(time.time()))
            headers = {
                "Api-Key": created.api_key,
                "Timestamp": ts,
                "Sign": compute_sign(created.api_key, created.api_secret, ts),
            }
            return http.post(
                "/voice/recordGroupQuery", json={"current": 1, "size": 100, "params": window}, headers=headers
            )

        cases: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "records page 1 (24 h)": lambda: http.get("/console/records"),
            "records page 10, answered only": lambda: http.get(
                "/console/records", params={"page": "10", "answered": "1"}
            ),
            "recordGroupQuery size=100 (24 h)": group_query,
        }
        few = min(10_000, records)
        await fill(platform, account_id, app_pk, 0, few)
        baseline = {name: await p95(case, requests) for name, case in cases.items()}
        started = time.perf_counter()
        await fill(platform, account_id, app_pk, few, records - few)
        filled = time.perf_counter() - started
        # What autovacuum (PostgreSQL) would have done by now after a bulk load: statistics, and the
        # visibility map that lets the window's count read the index alone.
        async with platform.engine.connect() as conn:
            vacuum = "VACUUM ANALYZE call_records" if dialect_of(platform) == "postgresql" else "ANALYZE"
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(vacuum))
        dialect = platform.engine.dialect.name
        print(f"{dialect}: {records:,} records ({filled:.0f} s to insert), {requests} requests each")
        few_head, many_head = f"p95 {few:,} rec", f"p95 {records:,} rec"
        print(f"{'case':36} {few_head:>16} {many_head:>18} {'ratio':>6}")
        for name, case in cases.items():
            many = await p95(case, requests)
            print(f"{name:36} {baseline[name]:13.1f} ms {many:15.1f} ms {many / baseline[name]:6.2f}")
    await platform.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.records, arguments.requests, arguments.database_url))
