"""Is this node ready for traffic: database reachable, schema at the newest migration, SIP listening,
the media plane running with RTP ports free for another call.

A check runs at most once per `max_age` and concurrent probes share it, so a load balancer polling
every node often still costs one query a second.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from sipline.media.port import MediaPlane
from sipline.sip import SipServer
from sipline.store.migrate import head_revision, schema_revision

log = logging.getLogger("sipline.readiness")


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str  # what was found, or why it fails: shown to anyone who asks
    cause: str = ""  # the error itself (may name hosts): logged only


Report = dict[str, Check]


def is_ready(report: Report) -> bool:
    return all(check.ok for check in report.values())


class ReadinessProbe:
    def __init__(
        self,
        engine: AsyncEngine,
        sip: SipServer,
        media: MediaPlane,
        *,
        max_age: float = 1.0,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._sip = sip
        self._media = media
        self._head = head_revision()
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._report: Report | None = None
        self._checked_at = 0.0

    async def check(self) -> Report:
        if (report := self._fresh()) is not None:
            return report
        async with self._lock:
            if (report := self._fresh()) is not None:
                return report  # checked by the probe this one waited for
            report = {**await self._database(), "sip": self._sip_transports(), "media": self._media_ports()}
            self._log_change(report)
            self._report, self._checked_at = report, self._clock()
        return report

    def _fresh(self) -> Report | None:
        if self._report is not None and self._clock() - self._checked_at < self._max_age:
            return self._report
        return None

    async def _database(self) -> Report:
        try:
            async with asyncio.timeout(self._timeout):
                revision = await schema_revision(self._engine)
        except TimeoutError:
            database = Check(False, f"no answer within {self._timeout:g} s")
        except Exception as exc:  # any driver or network error: the database is not usable
            database = Check(False, f"unreachable ({type(exc).__name__})", cause=f"unreachable: {exc}")
        else:
            if revision == self._head:
                migrations = Check(True, f"at {revision}")
            else:
                migrations = Check(False, f"at {revision or 'no revision'}, this version needs {self._head}")
            return {"database": Check(True, "reachable"), "migrations": migrations}
        return {"database": database, "migrations": Check(False, "unknown: no database")}

    def _sip_transports(self) -> Check:
        listening = self._sip.listening()
        down = [name for name, up in listening.items() if not up]
        if down:
            return Check(False, f"not listening: {', '.join(down)}")
        return Check(True, f"{', '.join(listening)} listening on port {self._sip.port}")

    def _media_ports(self) -> Check:
        health = self._media.health()
        if not health.running:
            return Check(False, "the media relay is not running")
        if health.free_port_pairs < 2:  # a call anchors two legs
            return Check(False, f"no RTP ports free for another call (all {health.port_pairs} pairs in use)")
        return Check(True, f"{health.free_port_pairs} of {health.port_pairs} RTP port pairs free")

    def _log_change(self, report: Report) -> None:
        if self._report is not None and is_ready(self._report) == is_ready(report):
            return
        failing = [f"{name} {check.cause or check.detail}" for name, check in report.items() if not check.ok]
        if failing:
            log.warning("not ready: %s", "; ".join(failing))
        elif self._report is not None:
            log.info("ready again")
