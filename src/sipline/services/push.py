"""The status report push's configuration and outbox, as the operator (admin CLI and API) and the
customer (a signed voice-API extension) see them: set the URL, rotate the secret, choose the events,
read the outbox, replay what failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.status import Status
from sipline.events import signing
from sipline.events.outbox import DELIVERING, DISABLED, EVENT_TYPES, FAILED, PENDING, REPORT
from sipline.events.ssrf import PushUrlError, UrlGuard
from sipline.services.unit_of_work import UnitOfWork
from sipline.store.models import App, AppPush, PushAttempt, PushOutbox
from sipline.store.secretbox import SecretBox

MAX_GRACE = timedelta(days=30)
DEFAULT_GRACE = timedelta(hours=24)
MAX_LISTED = 500
Listed = TypeVar("Listed", PushOutbox, PushAttempt)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class PushView:
    app_id: str
    url: str
    secret: str
    previous_secret_expires_at: datetime | None  # the old secret still signs until then
    events: tuple[str, ...]
    disabled_at: datetime | None
    disabled_reason: str | None
    outbox: dict[str, int]  # events by state

    def brief(self) -> dict[str, Any]:
        return {"appId": self.app_id, "url": self.url, "secret": self.secret}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.brief(),
            "events": list(self.events),
            "previousSecretExpiresAt": _iso(self.previous_secret_expires_at),
            "disabledAt": _iso(self.disabled_at),
            "disabledReason": self.disabled_reason,
            "outbox": self.outbox,
        }


@dataclass(frozen=True)
class OutboxEntry:
    event_id: str
    voice_id: str
    event_type: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "voiceId": self.voice_id,
            "event": self.event_type,
            "state": self.state,
            "attempts": self.attempts,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "nextAttemptAt": _iso(self.next_attempt_at) if self.state in (PENDING, DELIVERING) else None,
            "createdAt": _iso(self.created_at),
            "deliveredAt": _iso(self.delivered_at),
        }


@dataclass(frozen=True)
class AttemptEntry:
    event_id: str
    attempt: int
    attempted_at: datetime
    status: int | None
    latency_ms: int
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "attempt": self.attempt,
            "at": _iso_ms(self.attempted_at),
            "status": self.status,
            "latencyMs": self.latency_ms,
            "error": self.error,
        }


def _iso_ms(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def event_selection(events: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(event.strip() for event in events if event.strip()))
    unknown = [event for event in chosen if event not in EVENT_TYPES]
    if unknown or not chosen:
        raise parameter_error(
            f"events must be one or more of {', '.join(EVENT_TYPES)} (got {', '.join(events)})"
        )
    return chosen


class PushService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        guard: UrlGuard,
        wake: Callable[[], None] = lambda: None,
        selection_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self.guard = guard
        self.wake = wake  # the delivery worker's, after a replay
        self.selection_changed = selection_changed  # the live events' (events/outbox.py): read it afresh

    async def set_push(self, app_id: str, url: str, events: Sequence[str] | None = None) -> PushView:
        """Set (or change) the app's push URL; a first set makes the secret. Enables a disabled endpoint."""
        try:
            await self.guard.target(url)
        except PushUrlError as exc:
            raise parameter_error(f"url: {exc}") from None
        chosen = event_selection(events) if events is not None else None
        now = datetime.now(UTC)
        async with UnitOfWork(self._sessions) as uow:
            app = await _app(uow.session, app_id)
            push = await uow.session.get(AppPush, app.id)
            if push is None:
                push = AppPush(
                    app_pk=app.id, url=url, secret_enc=self._box.encrypt(signing.new_secret()), created_at=now
                )
                _select(push, chosen or (REPORT,))
                uow.session.add(push)
            else:
                push.url = url
                if chosen is not None:
                    _select(push, chosen)
            push.disabled_at = None
            push.disabled_reason = None
            push.updated_at = now
            await uow.commit()
        self.selection_changed()
        self.wake()  # events held while it was disabled go now
        return await self.show(app_id)

    async def rotate_secret(self, app_id: str, grace_seconds: float | None = None) -> PushView:
        """A new secret; the previous one keeps signing beside it for ``grace_seconds`` (default 24 h)."""
        grace = DEFAULT_GRACE if grace_seconds is None else timedelta(seconds=grace_seconds)
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise parameter_error(f"grace must be 0 to {int(MAX_GRACE.total_seconds())} seconds")
        now = datetime.now(UTC)
        async with UnitOfWork(self._sessions) as uow:
            push = await _push(uow.session, await _app(uow.session, app_id))
            push.previous_secret_enc = push.secret_enc if grace else None
            push.previous_expires_at = now + grace if grace else None
            push.secret_enc = self._box.encrypt(signing.new_secret())
            push.updated_at = now
            await uow.commit()
        return await self.show(app_id)

    async def set_events(self, app_id: str, events: Sequence[str]) -> PushView:
        chosen = event_selection(events)
        async with UnitOfWork(self._sessions) as uow:
            push = await _push(uow.session, await _app(uow.session, app_id))
            _select(push, chosen)
            push.updated_at = datetime.now(UTC)
            await uow.commit()
        self.selection_changed()
        return await self.show(app_id)

    async def show(self, app_id: str, account_id: int | None = None) -> PushView:
        """The app's push configuration; with ``account_id`` only if the app is that account's (-22)."""
        async with self._sessions() as session:
            app = await _app(session, app_id)
            if account_id is not None and app.account_id != account_id:
                raise parameter_error(f"appId {app_id} is not an app of this account")
            push = await _push(session, app)
            counts = await session.execute(
                select(PushOutbox.state, func.count())
                .where(PushOutbox.app_pk == app.id)
                .group_by(PushOutbox.state)
            )
            expires = push.previous_expires_at
            return PushView(
                app_id=app.app_id,
                url=push.url,
                secret=self._box.decrypt(push.secret_enc),
                previous_secret_expires_at=expires
                if expires is not None and expires > datetime.now(UTC)
                else None,
                events=tuple(event for event in EVENT_TYPES if getattr(push, f"send_{event}")),
                disabled_at=push.disabled_at,
                disabled_reason=push.disabled_reason,
                outbox={state: count for state, count in counts.all()},
            )

    async def outbox(self, app_id: str, state: str | None = None, limit: int = 50) -> list[OutboxEntry]:
        """The app's events, newest first: what was tried, when, and what the endpoint said."""
        where = [PushOutbox.state == state] if state is not None else []
        return [
            OutboxEntry(
                row.event_id,
                row.voice_id,
                row.event_type,
                row.state,
                row.attempts,
                row.last_status,
                row.last_error,
                row.next_attempt_at,
                row.created_at,
                row.delivered_at,
            )
            for row in await self._newest(PushOutbox, app_id, limit, where)
        ]

    async def log(self, app_id: str, event_id: str | None = None, limit: int = 50) -> list[AttemptEntry]:
        """The app's delivery log, newest first: each try's time, HTTP status, latency and error."""
        where = [PushAttempt.event_id == event_id] if event_id is not None else []
        return [
            AttemptEntry(row.event_id, row.attempt, row.attempted_at, row.status, row.latency_ms, row.error)
            for row in await self._newest(PushAttempt, app_id, limit, where)
        ]

    async def _newest(
        self, model: type[Listed], app_id: str, limit: int, where: list[ColumnElement[bool]]
    ) -> Sequence[Listed]:
        if not 1 <= limit <= MAX_LISTED:
            raise parameter_error(f"limit must be 1 to {MAX_LISTED}")
        async with self._sessions() as session:
            app = await _app(session, app_id)
            query = select(model).where(model.app_pk == app.id, *where).order_by(model.id.desc()).limit(limit)
            return (await session.scalars(query)).all()

    async def replay(self, app_id: str, event_id: str | None = None) -> int:
        """Send again: one event (whatever its state but in flight), or every failed and disabled one.
        Returns how many were queued."""
        now = datetime.now(UTC)
        async with UnitOfWork(self._sessions) as uow:
            app = await _app(uow.session, app_id)
            where = [PushOutbox.app_pk == app.id]
            if event_id is not None:
                where += [PushOutbox.event_id == event_id, PushOutbox.state != DELIVERING]
            else:
                where.append(PushOutbox.state.in_((FAILED, DISABLED)))
            result = await uow.session.execute(
                update(PushOutbox)
                .where(*where)
                .values(state=PENDING, attempts=0, next_attempt_at=now, hold_until=None, updated_at=now)
            )
            await uow.commit()
        queued: int = result.rowcount  # type: ignore[attr-defined]
        if event_id is not None and not queued:
            raise parameter_error(f"eventId {event_id} is not an event of app {app_id} (or is being sent)")
        self.wake()
        return queued


def _select(push: AppPush, events: Sequence[str]) -> None:
    push.send_report = REPORT in events
    push.send_ringing = "ringing" in events
    push.send_answered = "answered" in events


async def _app(session: AsyncSession, app_id: str) -> App:
    app = await session.scalar(select(App).where(App.app_id == app_id))
    if app is None:
        raise ApiError(Status.PARAMETER_ERROR, f"appId {app_id!r} does not exist")
    return app


async def _push(session: AsyncSession, app: App) -> AppPush:
    push = await session.get(AppPush, app.id)
    if push is None:
        raise parameter_error(f"appId {app.app_id} has no push URL (set-push sets one)")
    return push
