"""Is the service healthy: can the database be written, is the dispatcher sweeping?

`/healthz` stays cheap under load. The write probe runs in a thread, one at a time, and its
answer is reused for CACHE_FOR on the injected clock; while a newer answer is being fetched,
requests get the previous one. A probe that has not answered for PROBE_STUCK_AFTER counts
as a failing database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from scheduler.clock import Clock
from scheduler.service import DispatchService
from storage.db import Database
from storage.health import WriteProbe, probe_writes

log = logging.getLogger(__name__)

CACHE_FOR = timedelta(seconds=2)
PROBE_STUCK_AFTER = timedelta(seconds=10)
FIRST_PROBE_WAIT_SECONDS = 5.0
OK = "ok"


@dataclass(frozen=True)
class Health:
    checks: dict[str, str]  # check name -> "ok" or what is wrong, in a few words

    @property
    def failing(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]

    @property
    def ok(self) -> bool:
        return not self.failing


class HealthMonitor:
    def __init__(
        self,
        db: Database,
        service: DispatchService,
        clock: Clock,
        probe: Callable[[Database], WriteProbe] = probe_writes,
        cache_for: timedelta = CACHE_FOR,
    ) -> None:
        self._db = db
        self._service = service
        self._clock = clock
        self._probe = probe
        self._cache_for = cache_for
        self._answer: str | None = None
        self._answered_at: datetime | None = None
        self._pending: asyncio.Task[str] | None = None
        self._pending_since: datetime | None = None

    async def check(self) -> Health:
        return Health({"database": await self._database(), "dispatcher": self._dispatcher()})

    def _dispatcher(self) -> str:
        overdue = self._service.sweep_overdue(self._clock.now())
        if overdue is None:
            return OK
        return f"stalled: no sweep for {int(overdue.total_seconds())} s"

    async def _database(self) -> str:
        now = self._clock.now()
        answered_at = self._answered_at
        if self._answer is not None and answered_at and now - answered_at < self._cache_for:
            return self._answer
        if self._pending is None:
            self._pending = asyncio.create_task(self._probe_once())
            self._pending_since = now
        elif self._pending_since is not None and now - self._pending_since > PROBE_STUCK_AFTER:
            return "no answer from the write probe"
        if self._answer is not None:
            return self._answer
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending), FIRST_PROBE_WAIT_SECONDS)
        except TimeoutError:
            return "no answer from the write probe"

    async def _probe_once(self) -> str:
        try:
            result = await asyncio.to_thread(self._probe, self._db)
            answer = OK if result.writable else result.outcome
        except Exception:
            log.exception("health: the write probe failed")
            result, answer = WriteProbe("error"), "error"
        if answer != self._answer:
            # Logged on change only; the detail is the driver's message (no patient data).
            level = logging.INFO if answer == OK else logging.WARNING
            log.log(level, "health: database %s (%s)", answer, result.detail or result.outcome)
        self._answer, self._answered_at = answer, self._clock.now()
        self._pending = None
        return answer


def startup_problem(database_url: str) -> str | None:
    """Migrate, then probe a write: one line saying why the service cannot start, or None."""
    from storage.migrate import upgrade

    advice = (
        "check DATABASE_URL and that this user may write the database "
        "(for SQLite, the file and its directory)"
    )
    try:
        upgrade(database_url)
    except DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines() or ["unknown error"]
        return f"the database cannot be migrated ({reason[0][:200]}); {advice}"
    db = Database(database_url)
    try:
        result = probe_writes(db)
    finally:
        db.dispose()
    if result.writable:
        return None
    return f"the database cannot be written ({result.outcome}: {result.detail}); {advice}"
