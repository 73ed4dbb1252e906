"""`/readyz`: may this instance take traffic? Distinct from `/healthz` (is it alive?).

Ready when the database takes writes (the health monitor's cached probe), its migrations
are the ones this version expects (read at most every MIGRATIONS_CACHE_FOR, off the event
loop), and the dispatcher has swept recently. Each configured channel's state is listed
too: a channel whose last provider call failed with an error that may pass (an outage,
refused credentials) is `failing`, which makes the status `degraded` but not unready:
taking the instance out of a load balancer would stop the webhooks too, and fix nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aftercare.health import OK, HealthMonitor
from aftercare.metrics import LastAttempt, Metrics
from aftercare.wiring import ConsoleAdapter, Runtime
from storage.db import Database
from storage.migrate import applied_revisions, current_heads

log = logging.getLogger(__name__)

MIGRATIONS_CACHE_FOR = timedelta(seconds=30)


@dataclass(frozen=True)
class ChannelState:
    state: str  # "ok" or "failing: ..."
    sending_here: bool  # this engine holds the channel's lanes (else another engine does)
    last_attempt_at: datetime | None

    def as_json(self) -> dict[str, object]:
        at = self.last_attempt_at
        return {
            "state": self.state,
            "sending_here": self.sending_here,
            "last_attempt_at": at.isoformat(timespec="seconds") if at else None,
        }


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]
    channels: dict[str, ChannelState]

    @property
    def failing(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]

    @property
    def degraded(self) -> list[str]:
        return [name for name, channel in self.channels.items() if channel.state != OK]

    @property
    def status(self) -> str:
        if self.failing:
            return "not ready"
        return "degraded" if self.degraded else "ready"


def migration_state(db: Database, heads: list[str]) -> str:
    """OK, or what is wrong in a few words (blocking: run it in a thread)."""
    try:
        applied = applied_revisions(db)
    except Exception as exc:  # the write probe names the cause; here only that it failed
        log.warning("readiness: migrations could not be read (%s)", type(exc).__name__)
        return "unreadable"
    if applied is None:
        return "not migrated: run `aftercare db upgrade`"
    if applied == sorted(heads):
        return OK
    return f"at {', '.join(applied) or 'none'}, this version needs {', '.join(sorted(heads))}"


class ReadinessMonitor:
    def __init__(self, runtime: Runtime, health: HealthMonitor, metrics: Metrics) -> None:
        self._runtime = runtime
        self._health = health
        self._metrics = metrics
        self._heads = current_heads(runtime.core.db.url)
        self._migrations: tuple[datetime, str] | None = None

    async def check(self) -> Readiness:
        health = await self._health.check()
        checks = {
            "database": health.checks["database"],
            "migrations": await self._migration_check(),
            "dispatcher": health.checks["dispatcher"],
        }
        return Readiness(checks, self.channels())

    async def _migration_check(self) -> str:
        now = self._runtime.core.clock.now()
        if self._migrations is None or now - self._migrations[0] >= MIGRATIONS_CACHE_FOR:
            state = await asyncio.to_thread(migration_state, self._runtime.core.db, self._heads)
            self._migrations = (now, state)
        return self._migrations[1]

    def channels(self) -> dict[str, ChannelState]:
        """One entry per configured provider ("console" when it stands in for both)."""
        lanes_of: dict[str, list[str]] = {}
        for adapter in self._runtime.adapters:
            provider = "console" if isinstance(adapter, ConsoleAdapter) else adapter.name
            lanes_of.setdefault(provider, []).append(adapter.name)
        sending = set(self._runtime.dispatcher.sending_lanes())
        states = {}
        for provider, lanes in sorted(lanes_of.items()):
            known = self._metrics.last_attempts
            attempts = [known[lane] for lane in lanes if lane in known]
            last = max(attempts, key=lambda attempt: attempt.at, default=None)
            states[provider] = ChannelState(
                _state(last), any(lane in sending for lane in lanes), last.at if last else None
            )
        return states


def _state(last: LastAttempt | None) -> str:
    if last is None or last.ok:
        return OK
    return f"failing: the last send got {last.error_code or 'an error'}"


def readyz_route(monitor: ReadinessMonitor) -> Route:
    async def readyz(_request: Request) -> JSONResponse:
        """200 when ready (or degraded: a channel failing), 503 naming what is not."""
        report = await monitor.check()
        body = {
            "status": report.status,
            "failing": report.failing,
            "degraded": report.degraded,
            "checks": report.checks,
            "channels": {name: state.as_json() for name, state in report.channels.items()},
        }
        return JSONResponse(body, status_code=503 if report.failing else 200)

    return Route("/readyz", readyz, methods=["GET"])
