"""The push delivery worker: reads the outbox, sends each event, records what the endpoint said.

Every node runs one. A batch of due events is claimed in a short transaction (on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED``, so several nodes never claim the same row; SQLite has a single
node): each row becomes ``delivering`` with a lease (``next_attempt_at`` = now + timeout + margin), so
a row whose node died mid-request is claimed again once the lease is over. Requests run concurrently
(``concurrency``); their outcomes are written in batches.

- any 2xx: delivered;
- 410 Gone: the event ``disabled``, and the app's endpoint disabled (logged; ``set-push`` enables it
  again, ``push-replay`` sends what it missed);
- 429 and 503: again after ``Retry-After`` (seconds or an HTTP date, at most ``retry_after_max``);
- anything else (other statuses, timeouts, refused connections, a URL the SSRF guard refuses now):
  again after the next delay of the schedule, jittered by +-``jitter``; after the last try ``failed``,
  kept, and replayable.

Delivery is at least once: a crash between the endpoint's 2xx and the outcome's commit sends the
event again, with the same ``webhook-id`` for the receiver to deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.events import signing
from sipline.events.outbox import (
    _UNFINISHED,
    DELIVERED,
    DELIVERING,
    DISABLED,
    FAILED,
    OUTBOX,
    PENDING,
)
from sipline.events.ssrf import PushUrlError, UrlGuard
from sipline.store.models import AppPush, CallRecord, PushAttempt
from sipline.store.secretbox import SecretBox

log = logging.getLogger("sipline.events")

PUSH: Table = AppPush.__table__  # type: ignore[assignment]
ATTEMPTS: Table = PushAttempt.__table__  # type: ignore[assignment]
RECORDS: Table = CallRecord.__table__  # type: ignore[assignment]
LEASE_MARGIN = 15.0  # seconds beyond the request timeout before a claimed row may be claimed again
MAX_RESPONSE = 65_536  # bytes of an endpoint's answer read (and ignored)
USER_AGENT = "sipline-push/1"
CLIENT_POOL = 4  # connections per httpx client
MEASURE_EVERY = 5.0  # seconds between looks at the outbox's depth (metrics)


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout: float
    schedule: tuple[float, ...]  # seconds before each try; its length is the number of tries
    retry_after_max: float
    batch: int
    concurrency: int
    poll_interval: float
    jitter: float = 0.2

    def next_delay(self, tries: int) -> float | None:
        """Seconds until the next try after ``tries`` tries, or None: no tries left."""
        if tries >= len(self.schedule):
            return None
        return self.schedule[tries] * random.uniform(1 - self.jitter, 1 + self.jitter)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    event_id: str
    app_pk: int
    body: str
    attempts: int  # including this try
    url: str
    secrets: tuple[str, ...]  # the current secret, and during a rotation's grace the previous one


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    state: str  # delivered, pending (again later), failed, disabled
    status: int | None
    error: str | None
    retry_in: float | None = None
    gone: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))  # when the try began
    latency: float = 0.0  # seconds the try took (resolving, connecting, the answer)


def retry_after(value: str | None, now: datetime, ceiling: float) -> float | None:
    """A Retry-After header's seconds (delta-seconds or HTTP-date), at most ``ceiling``; None if absent
    or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value[:12])
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - now).total_seconds()
    return min(max(seconds, 0.0), ceiling)


class PushWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        guard: UrlGuard,
        policy: DeliveryPolicy,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self.guard = guard
        self.policy = policy
        self._woken = asyncio.Event()
        self.outcomes: Counter[str] = Counter()  # deliveries by outcome (metrics)
        self._clients: list[httpx.AsyncClient] = []
        self._tls = httpx.create_ssl_context()  # one for every client: loading the CAs costs 50 ms
        self._turn = 0
        # (events pending or delivering, seconds the oldest has waited): read every MEASURE_EVERY s
        self.backlog: tuple[int, float] = (0, 0.0)
        self._measured = 0.0

    def wake(self) -> None:
        """New events are due (written, replayed, a recording ready): look now, not at the next poll."""
        self._woken.set()

    async def serve(self) -> None:
        """Deliver until cancelled; a worker that failed (the database away) starts again."""
        while True:
            try:
                await self.run()
            except Exception:
                await asyncio.sleep(max(1.0, self.policy.poll_interval))

    async def run(self) -> None:
        """Deliver until cancelled (or an error, logged and raised)."""
        policy = self.policy
        # Several small clients rather than one large pool: httpx's pool costs grow with the number
        # of connections it holds (measured: 100 connections in one pool ran at a fifth of 4).
        self._clients = [
            httpx.AsyncClient(
                timeout=policy.timeout,
                verify=self._tls,
                follow_redirects=False,  # a redirect could lead past the SSRF guard
                trust_env=False,  # no proxy from the environment
                limits=httpx.Limits(max_connections=CLIENT_POOL, max_keepalive_connections=CLIENT_POOL),
            )
            for _ in range(-(-policy.concurrency // CLIENT_POOL))
        ]
        inflight: set[asyncio.Task[Outcome]] = set()
        try:
            while True:
                done = {task for task in inflight if task.done()}
                inflight -= done
                if done:
                    await self._record([task.result() for task in done])
                if time.monotonic() - self._measured >= MEASURE_EVERY:
                    await self._measure()
                self._woken.clear()
                free = policy.concurrency - len(inflight)
                claimed = await self._claim(min(policy.batch, free)) if free > 0 else []
                inflight |= {asyncio.create_task(self._deliver(item)) for item in claimed}
                if claimed and len(claimed) == min(policy.batch, free):
                    continue  # more may be due
                waiter = asyncio.create_task(self._woken.wait())
                await asyncio.wait(
                    {*inflight, waiter}, timeout=policy.poll_interval, return_when="FIRST_COMPLETED"
                )
                waiter.cancel()
                if inflight:
                    await asyncio.sleep(0.02)  # let more requests finish: their outcomes share a commit
        except Exception:
            log.exception("the push worker stopped; it starts again in a second")
            raise
        finally:
            await self._stop(inflight)

    async def _stop(self, inflight: set[asyncio.Task[Outcome]]) -> None:
        finished = [task.result() for task in inflight if task.done() and not task.cancelled()]
        for task in inflight:
            task.cancel()
        unfinished = [task for task in inflight if not task.done()]
        await asyncio.gather(*unfinished, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.shield(self._record(finished))
        for client in self._clients:
            await client.aclose()
        self._clients = []

    async def _measure(self) -> None:
        self._measured = time.monotonic()
        async with self._sessions() as session:
            depth, oldest = (
                await session.execute(
                    select(func.count(), func.min(OUTBOX.c.created_at)).where(
                        OUTBOX.c.state.in_((PENDING, DELIVERING))
                    )
                )
            ).one()
        waited = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        self.backlog = (int(depth), max(0.0, waited))

    # -- claiming ------------------------------------------------------------------------------
    async def _claim(self, limit: int) -> list[Claimed]:
        now = datetime.now(UTC)
        due = (
            select(OUTBOX.c.id)
            .select_from(
                OUTBOX.join(PUSH, PUSH.c.app_pk == OUTBOX.c.app_pk).outerjoin(
                    RECORDS, RECORDS.c.voice_id == OUTBOX.c.voice_id
                )
            )
            .where(
                OUTBOX.c.state.in_((PENDING, DELIVERING)),
                OUTBOX.c.next_attempt_at <= now,
                PUSH.c.disabled_at.is_(None),
                or_(
                    OUTBOX.c.hold_until.is_(None),
                    OUTBOX.c.hold_until <= now,
                    RECORDS.c.recording_status.is_(None),
                    RECORDS.c.recording_status.not_in(_UNFINISHED),
                ),
            )
            .order_by(OUTBOX.c.next_attempt_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=OUTBOX)
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            lease = now + timedelta(seconds=self.policy.timeout + LEASE_MARGIN)
            rows = (
                await session.execute(
                    update(OUTBOX)
                    # still due: what another node claimed meanwhile is not claimed twice
                    .where(
                        OUTBOX.c.id.in_(ids),
                        OUTBOX.c.state.in_((PENDING, DELIVERING)),
                        OUTBOX.c.next_attempt_at <= now,
                    )
                    .values(
                        state=DELIVERING,
                        attempts=OUTBOX.c.attempts + 1,
                        next_attempt_at=lease,
                        updated_at=now,
                    )
                    .returning(
                        OUTBOX.c.id, OUTBOX.c.event_id, OUTBOX.c.app_pk, OUTBOX.c.body, OUTBOX.c.attempts
                    )
                )
            ).all()
            endpoints = await self._endpoints(session, {row.app_pk for row in rows}, now)
            await session.commit()
        return [
            Claimed(row.id, row.event_id, row.app_pk, row.body, row.attempts, *endpoints[row.app_pk])
            for row in rows
        ]

    async def _endpoints(
        self, session: AsyncSession, apps: set[int], now: datetime
    ) -> dict[int, tuple[str, tuple[str, ...]]]:
        found = await session.execute(select(PUSH).where(PUSH.c.app_pk.in_(apps)))
        endpoints = {}
        for push in found:
            secrets = [self._box.decrypt(push.secret_enc)]
            if push.previous_secret_enc and push.previous_expires_at and push.previous_expires_at > now:
                secrets.append(self._box.decrypt(push.previous_secret_enc))
            endpoints[push.app_pk] = (push.url, tuple(secrets))
        return endpoints

    # -- sending -------------------------------------------------------------------------------
    async def _deliver(self, item: Claimed) -> Outcome:
        started, clock = datetime.now(UTC), time.perf_counter()
        try:
            outcome = await self._try(item)
        except Exception as exc:  # whatever went wrong, this event is tried again like a failure
            log.exception("push %s: unexpected error", item.event_id)
            outcome = self._failed(item, None, f"{type(exc).__name__}: {exc}")
        return replace(outcome, started=started, latency=time.perf_counter() - clock)

    async def _try(self, item: Claimed) -> Outcome:
        self._turn = (self._turn + 1) % len(self._clients)
        client = self._clients[self._turn]
        try:
            target = await self.guard.recent_target(item.url)
        except PushUrlError as exc:
            return self._failed(item, None, str(exc))
        headers = signing.headers(item.secrets, item.event_id, int(time.time()), item.body)
        headers |= {"content-type": "application/json", "host": target.host, "user-agent": USER_AGENT}
        extensions = {"sni_hostname": target.server_name} if target.server_name else None
        try:
            request = client.build_request(
                "POST", target.url, content=item.body.encode(), headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > MAX_RESPONSE:
                        break
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return self._failed(item, None, f"{type(exc).__name__}: {exc}"[:256] or type(exc).__name__)
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(item, DELIVERED, status, None)
        if status == 410:
            return Outcome(item, DISABLED, status, "410 Gone: the endpoint is disabled", gone=True)
        if status in (429, 503):
            delay = retry_after(
                response.headers.get("retry-after"), datetime.now(UTC), self.policy.retry_after_max
            )
            if delay is not None:
                if item.attempts >= len(self.policy.schedule):
                    return Outcome(item, FAILED, status, f"HTTP {status}; no tries left")
                return Outcome(
                    item, PENDING, status, f"HTTP {status}, Retry-After {delay:g} s", retry_in=delay
                )
        return self._failed(item, status, f"HTTP {status}")

    def _failed(self, item: Claimed, status: int | None, error: str) -> Outcome:
        delay = self.policy.next_delay(item.attempts)
        if delay is None:
            return Outcome(item, FAILED, status, f"{error}; no tries left"[:256])
        return Outcome(item, PENDING, status, error[:256], retry_in=delay)

    # -- recording -----------------------------------------------------------------------------
    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "_id": outcome.claimed.row_id,
                "_attempts": outcome.claimed.attempts,
                "state": outcome.state,
                "last_status": outcome.status,
                "last_error": outcome.error,
                "next_attempt_at": now + timedelta(seconds=outcome.retry_in or 0),
                "delivered_at": now if outcome.state == DELIVERED else None,
                "updated_at": now,
            }
            for outcome in outcomes
        ]
        statement = (
            update(OUTBOX)
            # a row whose lease ran out may have been claimed again meanwhile: that try's outcome wins
            .where(
                OUTBOX.c.id == bindparam("_id"),
                OUTBOX.c.attempts == bindparam("_attempts"),
                OUTBOX.c.state == DELIVERING,
            )
            .values({name: bindparam(name) for name in rows[0] if not name.startswith("_")})
        )
        gone = {outcome.claimed.app_pk for outcome in outcomes if outcome.gone}
        log_rows = [
            {
                "outbox_id": outcome.claimed.row_id,
                "app_pk": outcome.claimed.app_pk,
                "event_id": outcome.claimed.event_id,
                "attempt": outcome.claimed.attempts,
                "attempted_at": outcome.started,
                "status": outcome.status,
                "latency_ms": min(round(outcome.latency * 1000), 2**31 - 1),
                "error": outcome.error,
            }
            for outcome in outcomes
        ]
        self.outcomes.update(outcome.state for outcome in outcomes)  # tries finished, whatever follows
        async with self._sessions() as session:
            await session.execute(statement, rows)
            await session.execute(insert(ATTEMPTS), log_rows)
            if gone:
                await session.execute(
                    update(PUSH)
                    .where(PUSH.c.app_pk.in_(gone), PUSH.c.disabled_at.is_(None))
                    .values(disabled_at=now, disabled_reason="the endpoint answered 410 Gone", updated_at=now)
                )
            await session.commit()
        for outcome in outcomes:
            if outcome.gone:
                log.warning(
                    "push endpoint of app %d answered 410 Gone for %s: disabled until set-push enables it",
                    outcome.claimed.app_pk,
                    outcome.claimed.event_id,
                )
            elif outcome.state == FAILED:
                log.warning(
                    "push %s failed after %d tries: %s",
                    outcome.claimed.event_id,
                    outcome.claimed.attempts,
                    outcome.error,
                )
