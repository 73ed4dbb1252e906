"""APScheduler drives the timing; the reminders table remains the only queue.

Jobs: `wake` (a date job armed at the earliest pending due time, re-armed after each run and
whenever an earlier reminder is added in this process), `sweep` (every few seconds: recovers
expired claims, expires overdue reminders, picks up rows written by other processes),
`heartbeat` (renews this engine's leases) and `maintenance` (hourly housekeeping).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)


class DispatchService:
    def __init__(self, dispatcher: Dispatcher, sweep_interval: float) -> None:
        self.dispatcher = dispatcher
        self.sweep_interval = sweep_interval
        self._scheduler: AsyncIOScheduler | None = None
        self._armed_at: datetime | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        """Needs the running loop: AsyncIOScheduler binds to it on start."""
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            # misfire_grace_time=None: a job that fires late still runs (default is 1 s).
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        lease = self.dispatcher.config.lease.total_seconds()
        now = datetime.now(UTC)
        scheduler.add_job(
            self.sweep, "interval", seconds=self.sweep_interval, id="sweep", next_run_time=now
        )
        scheduler.add_job(self.heartbeat, "interval", seconds=max(lease / 3, 0.5), id="heartbeat")
        scheduler.add_job(self.maintenance, "interval", hours=1, id="maintenance")
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Let the chunk in flight finish, then hand unsent claims back."""
        self.dispatcher.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.dispatcher.idle()
        released = await asyncio.to_thread(self.dispatcher.reminders.release, self.dispatcher.owner)
        log.info("dispatch stopped; %s unsent claims released", released)

    def notify(self, due_at: datetime) -> None:
        """A reminder was added in this process: wake earlier if it is due sooner."""
        if self._armed_at is None or due_at < self._armed_at:
            self._arm(due_at)

    async def sweep(self) -> None:
        now = self.dispatcher.clock.now()
        repo = self.dispatcher.reminders
        recovery = await asyncio.to_thread(repo.recover_expired_claims, now)
        expired = await asyncio.to_thread(repo.expire_overdue, now)
        if recovery.released or recovery.in_doubt or expired:
            log.info(
                "sweep: %s claims released, %s in doubt, %s expired",
                recovery.released,
                recovery.in_doubt,
                expired,
            )
        await self.wake()
        self.ready.set()

    async def wake(self) -> None:
        await self.dispatcher.dispatch_due()
        await self._rearm()

    async def heartbeat(self) -> None:
        until = self.dispatcher.clock.now() + self.dispatcher.config.lease
        await asyncio.to_thread(self.dispatcher.reminders.renew_lease, self.dispatcher.owner, until)

    async def maintenance(self) -> None:
        cutoff = self.dispatcher.clock.now() - timedelta(days=30)
        pruned = await asyncio.to_thread(self.dispatcher.patients.prune_inbound, cutoff)
        if pruned:
            log.info("maintenance: %s old webhook ids pruned", pruned)

    async def _rearm(self) -> None:
        earliest = await asyncio.to_thread(
            self.dispatcher.reminders.earliest_pending, self.dispatcher.channel_names
        )
        self._armed_at = None
        if earliest is not None:
            self._arm(earliest)

    def _arm(self, when: datetime) -> None:
        if self._scheduler is None:
            return
        self._armed_at = when
        # Several wake instances may overlap briefly; the dispatcher's per-lane locks make
        # that harmless, while max_instances=1 could silently drop a re-armed date job.
        self._scheduler.add_job(
            self.wake,
            DateTrigger(run_date=when, timezone=UTC),
            id="wake",
            replace_existing=True,
            max_instances=4,
        )
